// The answer file's password: its hash goes into the installed system's
// /etc/shadow, for the user the activation created, so nothing of it passes
// through a command line or a log. NixOS keeps a password set this way across
// activations unless the configuration sets users.mutableUsers = false (or a
// password for that user itself, which then wins).
import { chmod, chown, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';

export function withPassword(shadow: string, user: string, hash: string): string | null {
  let found = false;
  const lines = shadow.split('\n').map((line) => {
    const fields = line.split(':');
    if (fields[0] !== user || fields.length < 2) return line;
    found = true;
    fields[1] = hash;
    // Days since the epoch of the last change, as passwd records it.
    if (fields.length > 2) fields[2] = String(Math.floor(Date.now() / 86_400_000));
    return fields.join(':');
  });
  return found ? lines.join('\n') : null;
}

export async function setPassword(ctx: JobContext, user: string, hash: string): Promise<void> {
  const shadow = join(ctx.root, 'etc/shadow');
  const info = await stat(shadow).catch(() => null);
  const text = info ? await readFile(shadow, 'utf8') : null;
  const updated = text === null ? null : withPassword(text, user, hash);
  if (updated === null) {
    throw new InstallError(
      'password-not-set',
      `The password of "${user}" could not be set`,
      `${text === null ? `The installed system has no ${shadow}` : `${shadow} has no entry for "${user}"`} after activation, so "passwordHash" could not be applied. The system is installed; log in as another user (or as root with nixos-enter --root from the installer) and run: passwd ${user}. If the configuration sets users.mutableUsers = false, give the hash in the configuration instead (users.users.${user}.hashedPassword).`,
    );
  }
  // Written beside it and renamed over it: a crash never leaves half a shadow file.
  const next = `${shadow}.nixos-offline-installer`;
  await writeFile(next, updated, { mode: 0o600 });
  await chown(next, info!.uid, info!.gid);
  await chmod(next, info!.mode & 0o7777);
  await rename(next, shadow);
  ctx.log('install', `set the password of "${user}" in the installed system (the hash is not logged)`);
}

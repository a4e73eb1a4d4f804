// An answer file (with its password hash) or a LUKS passphrase file kept in the
// configuration folder is staged into /etc/nixos with the rest; there only
// root may read them, as /etc/shadow.
import { chmod, lstat } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import type { JobContext } from '../common/context.js';

export async function protectStagedSecrets(ctx: JobContext, source: string, etcNixos: string, files: readonly string[]): Promise<void> {
  for (const file of files) {
    const rel = relative(source, file);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
    const staged = join(etcNixos, rel);
    const info = await lstat(staged).catch(() => null);
    if (!info?.isFile()) continue;
    await chmod(staged, 0o600);
    ctx.log('stage', `${staged} holds secrets: readable by root only`);
  }
}

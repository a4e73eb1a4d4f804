// A flake's locked inputs on the installed system: nothing in the system
// refers to them, so garbage collection would delete them and the first
// `nixos-rebuild --flake /etc/nixos` would have to download them again. One
// link per input under /nix/var/nix/gcroots/nixos-offline-installer/ keeps
// them (delete that folder once the flake's inputs have been updated).
import { mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { FlakeInput } from '../protocol/config-facts.js';
import type { JobContext } from '../common/context.js';

export const ROOTS_DIR = 'nix/var/nix/gcroots/nixos-offline-installer';

export async function keepFlakeInputs(ctx: JobContext, inputs: readonly FlakeInput[]): Promise<void> {
  const dir = join(ctx.root, ROOTS_DIR);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const input of inputs) {
    if (input.storePath) await symlink(input.storePath, join(dir, `flake-input-${input.name.replace(/[^A-Za-z0-9._-]/g, '-')}`));
  }
  ctx.log('copy', `kept the flake's ${inputs.length} locked input${inputs.length === 1 ? '' : 's'} from garbage collection on the target (/${ROOTS_DIR})`);
}

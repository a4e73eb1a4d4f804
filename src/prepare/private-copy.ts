// Private snapshots of a configuration folder, made by root in a fresh 0700
// folder under the live system's /tmp (other users can neither read nor swap
// it), through the same checked, descriptor-based copy as staging (links out
// of the folder and special files are refused). With an eval user, its group
// may then read the copy (eval-group-access.ts): the eval user evaluates
// copies like these, never a folder someone else can still change.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Beneath, withDir } from '../fs/beneath.js';
import { evalUser } from '../nix/eval-user.js';
import { copyWithRetries } from '../snapshot/copy-with-retries.js';
import type { CommandContext } from '../common/context.js';
import { shareWithEvalGroup } from './eval-group-access.js';

export interface PrivateCopy {
  // The copy, named "nixos" as the target's /etc/nixos (a path literal's store name is its folder's name).
  folder: string;
  remove(): Promise<void>;
}

export async function privateCopy(ctx: CommandContext, source: string): Promise<PrivateCopy> {
  const work = await mkdtemp(join(tmpdir(), 'nixos-offline-installer-'));
  const remove = () => rm(work, { recursive: true, force: true });
  try {
    await withDir(Beneath.open(work, { rootOwned: true }), (dir) => copyWithRetries(ctx, source, dir, 'nixos'));
    const user = evalUser();
    if (user) await shareWithEvalGroup(work, user.gid);
    return { folder: join(work, 'nixos'), remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

// The folder as written, for a check to evaluate: the source itself when root
// evaluates (no eval user), else one private copy per check, made when first asked for.
export class WrittenCopy {
  private copy: Promise<PrivateCopy> | null = null;

  constructor(
    private readonly ctx: CommandContext,
    private readonly source: string,
  ) {}

  async folder(): Promise<string> {
    if (!evalUser()) return this.source;
    this.copy ??= privateCopy(this.ctx, this.source);
    return (await this.copy).folder;
  }

  async remove(): Promise<void> {
    const copy = await this.copy?.catch(() => null);
    this.copy = null;
    await copy?.remove();
  }
}

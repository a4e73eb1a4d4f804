// Private snapshots of a configuration folder, made by root under the live
// system's /tmp (other users can neither read nor swap them), through the same
// checked, descriptor-based copy as staging (links out of the folder and
// special files are refused). With an eval user, its group may read them
// (folders 0750, files group-readable): the eval user evaluates copies like
// these, never a folder someone else can still change.
//
// One kept copy of the folder in use (0700, root's alone) is brought up to
// date on each request: only files changed since are copied, the source
// counting only if it did not change meanwhile. Each private copy is then hard
// links to the kept copy's files in a fresh folder: a check of an unchanged
// folder copies nothing. The kept copy's files are never written in place (a
// change is a new file under the name), so a private copy stays what it was.
// The daemon fills it when it first sees the folder (src/daemon/kept-fill.ts),
// so an install copies the folder once more, to the target, and a check none.
// On the live system's /tmp (RAM on the ISO) this takes one folder's size,
// however many checks and installs use it.
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { linkSync, lstatSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Beneath, withDir } from '../fs/beneath.js';
import { inSyncBatches } from '../fs/sync-batches.js';
import { evalUser } from '../nix/eval-user.js';
import { CONFIG_CHANGING, copyWithRetries } from '../snapshot/copy-with-retries.js';
import { STAGED, stagedFileMode, type CopyRules, type Holdings } from '../snapshot/copy-snapshot.js';
import { stampChangedAtNs, type SourceScan } from '../snapshot/scan-source.js';
import { InstallCancelled, InstallError } from '../common/install-error.js';
import type { CommandContext } from '../common/context.js';
import { groupReadableMode } from './eval-group-access.js';

const PREFIX = 'nixos-offline-installer-';
// Kept and private copies are named by their daemon's process id: another daemon's (a test's) is never taken
// for a leftover, and a killed daemon's are removed by the next one.
const KEPT_PREFIX = `${PREFIX}kept-`;
const COPY_PREFIX = `${PREFIX}copy-`;
const LEFT_BY = new RegExp(`^(?:${KEPT_PREFIX}|${COPY_PREFIX})(\\d+)-`);
// An entry changed this shortly before its copy is copied again next time: a second write within the clock's
// tick (a few ms) could leave its stamp as it was (git's "racily clean" entries).
export const RACY_MS = 1000;

export interface PrivateCopy {
  // The copy, named "nixos" as the target's /etc/nixos (a path literal's store name is its folder's name).
  folder: string;
  // Files and links the kept copy took from the source for this copy (none when the folder is unchanged).
  written: number;
  // The source's fingerprint (src/snapshot/scan-source.ts) as copied.
  fingerprint: string;
  remove(): Promise<void>;
}

interface KeptCopy {
  source: string;
  // Root's alone (0700); the copy is WORK/nixos.
  work: string;
  holds: Holdings;
}

let kept: KeptCopy | null = null;
// Set once the daemon stops: an update still asked for (a check ending) makes no kept copy that would outlive it.
let closed = false;
// One update of the kept copy at a time, and no private copy made while one runs.
let turn: Promise<unknown> = Promise.resolve();

function inTurn<T>(fn: () => Promise<T>): Promise<T> {
  const run = turn.then(fn, fn);
  turn = run.catch(() => undefined);
  return run;
}

function copyRules(): CopyRules {
  const user = evalUser();
  return user ? { gid: user.gid, fileMode: (mode) => groupReadableMode(stagedFileMode(mode), false), dirMode: 0o750 } : STAGED;
}

// The kept copy of SOURCE, brought up to date; its scan is what it now holds. Always updated in place (a first copy
// into an empty folder): a copy cancelled or outrun by edits keeps what it copied whole, and the next one goes on
// from there instead of copying the folder again.
async function updateKept(ctx: CommandContext, source: string, rules: CopyRules): Promise<{ work: string; scan: SourceScan; written: number }> {
  if (closed) throw new InstallCancelled();
  if (kept && kept.source !== source) await dropKept();
  let current = kept;
  if (!current) {
    current = { source, work: await mkdtemp(join(tmpdir(), `${KEPT_PREFIX}${process.pid}-`)), holds: new Map() };
    await mkdir(join(current.work, 'nixos'), 0o700);
    kept = current;
  }
  const racy = BigInt(Date.now() - RACY_MS) * 1_000_000n;
  const forgetRacy = (holds: Holdings) => {
    for (const [path, stamp] of holds) if (stampChangedAtNs(stamp) >= racy) holds.delete(path);
  };
  try {
    const copied = await withDir(Beneath.open(current.work, { rootOwned: true }), (dir) => copyWithRetries(ctx, source, 'shared', dir, 'nixos', rules, current.holds));
    forgetRacy(current.holds);
    return { work: current.work, scan: copied, written: copied.written };
  } catch (error) {
    // Cancelled, or the folder kept changing: what the kept copy holds is still each entry as recorded.
    if (error instanceof InstallCancelled || (error instanceof InstallError && error.code === CONFIG_CHANGING)) forgetRacy(current.holds);
    // Anything else: never a kept copy whose contents are uncertain.
    else await dropKept();
    throw error;
  }
}

// The kept copy of SOURCE brought up to date now, without a private copy (the daemon does it when it first sees the
// folder and when it changes, so an install finds it current); how many files and links it took.
export async function fillKeptCopy(ctx: CommandContext, source: string): Promise<number> {
  return inTurn(async () => (await updateKept(ctx, source, copyRules())).written);
}

// How many entries the kept copy holds as current copies (0 without one).
export function keptEntries(): number {
  return kept?.holds.size ?? 0;
}

// A new folder of links to the kept copy's files, as SCAN lists them.
async function linkCopy(from: string, to: string, scan: SourceScan, rules: CopyRules): Promise<void> {
  const owned = async (path: string, mode: number) => {
    await chown(path, 0, rules.gid);
    await chmod(path, mode);
  };
  await mkdir(to, 0o700);
  const folders = scan.entries.filter((e) => e.kind === 'dir');
  for (const folder of folders) await mkdir(join(to, folder.path), 0o700);
  const others = scan.entries.filter((e) => e.kind !== 'dir');
  await inSyncBatches(others, (e) => (e.kind === 'file' ? linkSync(join(from, e.path), join(to, e.path)) : symlinkSync(e.target!, join(to, e.path))));
  for (const folder of folders) await owned(join(to, folder.path), rules.dirMode);
  await owned(to, rules.dirMode);
}

export async function privateCopy(ctx: CommandContext, source: string): Promise<PrivateCopy> {
  const rules = copyRules();
  const work = await mkdtemp(join(tmpdir(), `${COPY_PREFIX}${process.pid}-`));
  const remove = () => rm(work, { recursive: true, force: true });
  try {
    const { written, fingerprint } = await inTurn(async () => {
      const updated = await updateKept(ctx, source, rules);
      await linkCopy(join(updated.work, 'nixos'), join(work, 'nixos'), updated.scan, rules);
      return { written: updated.written, fingerprint: updated.scan.fingerprint };
    });
    if (rules.gid !== 0) {
      await chown(work, 0, rules.gid);
      await chmod(work, 0o750);
    }
    return { folder: join(work, 'nixos'), written, fingerprint, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

// The kept copy goes (no folder is in use; FOR_GOOD: the daemon stops), once no update of it runs.
export function dropKeptCopy(forGood = false): Promise<void> {
  return inTurn(() => {
    closed ||= forGood;
    return dropKept();
  });
}

async function dropKept(): Promise<void> {
  const gone = kept;
  kept = null;
  if (gone) await rm(gone.work, { recursive: true, force: true });
}

function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Kept and private copies a daemon that is gone left in /tmp (root's folders only; after a crash or a kill):
// their RAM is given back.
export async function removeLeftCopies(): Promise<void> {
  for (const name of await readdir(tmpdir()).catch(() => [] as string[])) {
    const pid = Number(LEFT_BY.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid) || pid === process.pid || running(pid)) continue;
    const info = lstatSync(join(tmpdir(), name), { throwIfNoEntry: false });
    if (info?.isDirectory() && info.uid === 0) await rm(join(tmpdir(), name), { recursive: true, force: true });
  }
}

// A file of a private copy written anew (never through a link into the kept copy).
export async function writeNewFile(path: string, text: string): Promise<void> {
  await rm(path, { force: true });
  await writeFile(path, text, { mode: 0o644, flag: 'wx' });
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

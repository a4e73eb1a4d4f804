// The daemon's running commands, recorded in its runtime folder (one empty
// file "<pid>-<start time>" each, while it runs), so that a daemon started after
// one that was killed outright (SIGKILL, a crash) ends what that one left
// running, e.g. a `nix copy` still writing to the target. A process is ended
// only if its start time (field 22 of /proc/<pid>/stat) is the recorded one:
// a pid the kernel has handed to another process since is never touched.
import { lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const RECORD = /^(\d{1,10})-(\d{1,20})$/;
const POLL_MS = 50;

let recordDir: string | null = null;

// Clock ticks after boot at which the process started, or null if there is no such process.
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count from its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 200);
  } catch {
    return '?';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone meanwhile.
    }
  }
}

// Records decide what gets killed: only a real folder of ours that nobody else can write to is trusted.
function trusted(dir: string): boolean {
  const info = lstatSync(dir, { throwIfNoEntry: false });
  return info !== undefined && info.isDirectory() && info.uid === process.getuid?.() && (info.mode & 0o022) === 0;
}

// From now on every command started is recorded in dir; false if dir cannot be trusted (then nothing is recorded).
export function recordChildrenIn(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  recordDir = trusted(dir) ? dir : null;
  return recordDir !== null;
}

// Records a command just started (the leader of its own process group); returns what forgets it once it has ended.
export function recordChild(pid: number): () => void {
  const dir = recordDir;
  const started = dir === null ? null : processStartTime(pid);
  if (dir === null || started === null) return () => undefined;
  const file = join(dir, `${pid}-${started}`);
  try {
    writeFileSync(file, '');
  } catch {
    // Not recorded: only a later clean-up after a crash misses it.
    return () => undefined;
  }
  return () => rmSync(file, { force: true });
}

export interface Leftover {
  pid: number;
  command: string;
}

// Ends the process groups of the commands recorded in dir that still run
// (SIGTERM, then SIGKILL after graceMs) and clears the records. Call it only
// once no other daemon uses dir.
export async function endLeftovers(dir: string, graceMs: number): Promise<Leftover[]> {
  if (!trusted(dir)) return [];
  const names = readdirSync(dir);
  const ended: { pid: number; started: string; command: string }[] = [];
  for (const name of names) {
    const match = RECORD.exec(name);
    if (match) {
      const pid = Number(match[1]);
      const started = match[2]!;
      if (pid > 1 && processStartTime(pid) === started) {
        ended.push({ pid, started, command: commandLine(pid) });
        signalGroup(pid, 'SIGTERM');
      }
    }
    rmSync(join(dir, name), { force: true, recursive: true });
  }
  const alive = () => ended.filter((e) => processStartTime(e.pid) === e.started);
  const deadline = Date.now() + graceMs;
  while (alive().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  for (const e of alive()) signalGroup(e.pid, 'SIGKILL');
  return ended.map(({ pid, command }) => ({ pid, command }));
}

// Runs one external command for an install stage: argv array (never a shell
// string), its own process group so a cancel ends the whole tree, every output
// line handed on as it arrives.
import type { Readable } from 'node:stream';
import { recordChild } from './child-record.js';

// SIGTERM first; whatever is still alive after this gets SIGKILL. Well under
// the 5 s a cancel is allowed to take.
export const KILL_GRACE_MS = 3000;

const MAX_LINE_CHARS = 1024 * 1024;
// stdout kept for the caller (a JSON value, an out path): more than this is not data we asked for.
const MAX_CAPTURED_CHARS = 16 * 1024 * 1024;

// Loaded on the first command, not at start-up: it is the largest import, and the socket should answer first.
let loadExeca: Promise<typeof import('execa')> | null = null;

export type OutputStream = 'stdout' | 'stderr';

export interface ChildSpec {
  file: string;
  args: readonly string[];
  signal: AbortSignal;
  onLine: (line: string, stream: OutputStream) => void;
  // Keep stdout lines and return them (e.g. nix-build prints the out path there).
  captureStdout?: boolean;
  env?: Record<string, string>;
  // Written to the child's stdin (e.g. sfdisk's script); otherwise stdin is closed.
  input?: string;
  // Run as this user instead of root (libuv drops the supplementary groups), in CWD.
  user?: { uid: number; gid: number; cwd: string };
}

export interface ChildResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string[];
  // More stdout came than MAX_CAPTURED_CHARS; the rest was not kept.
  stdoutTruncated: boolean;
  cancelled: boolean;
  // The command could not be started at all (e.g. not on PATH).
  spawnError: string | null;
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

// Splits a stream into lines by hand: readline costs several times more per
// line, and a build can print hundreds of thousands of them.
function readLines(stream: Readable | null, onLine: (line: string) => void): Promise<void> {
  if (!stream) return Promise.resolve();
  stream.setEncoding('utf8');
  let carry = '';
  stream.on('data', (chunk: string) => {
    const parts = (carry + chunk).split('\n');
    carry = parts.pop()!;
    for (const part of parts) onLine(part.endsWith('\r') ? part.slice(0, -1) : part);
    // A line with no end in sight is handed on in pieces rather than held whole.
    if (carry.length > MAX_LINE_CHARS) {
      onLine(carry);
      carry = '';
    }
  });
  return new Promise((resolve) => {
    stream.once('close', () => {
      if (carry) onLine(carry);
      carry = '';
      resolve();
    });
  });
}

export async function runChild(spec: ChildSpec): Promise<ChildResult> {
  const stdout: string[] = [];
  let captured = 0;
  let stdoutTruncated = false;
  const { execa } = await (loadExeca ??= import('execa'));
  if (spec.signal.aborted) return { exitCode: null, signal: null, stdout, stdoutTruncated, cancelled: true, spawnError: null };

  const child = execa(spec.file, spec.args, {
    detached: true,
    ...(spec.input !== undefined ? { input: spec.input } : { stdin: 'ignore' as const }),
    stdout: 'pipe',
    stderr: 'pipe',
    buffer: false,
    reject: false,
    env: spec.env,
    extendEnv: true,
    ...(spec.user && { uid: spec.user.uid, gid: spec.user.gid, cwd: spec.user.cwd }),
  });

  // Recorded while it runs, so a daemon started after this one crashed can end it.
  const forget = child.pid !== undefined ? recordChild(child.pid) : () => undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    if (child.pid === undefined) return;
    killGroup(child.pid, 'SIGTERM');
    killTimer = setTimeout(() => child.pid !== undefined && killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    killTimer.unref();
  };
  spec.signal.addEventListener('abort', onAbort, { once: true });

  const reading = Promise.all([
    readLines(child.stdout, (line) => {
      if (spec.captureStdout && !stdoutTruncated) {
        captured += line.length + 1;
        if (captured > MAX_CAPTURED_CHARS) stdoutTruncated = true;
        else stdout.push(line);
      }
      spec.onLine(line, 'stdout');
    }),
    readLines(child.stderr, (line) => spec.onLine(line, 'stderr')),
  ]);

  try {
    const result = await child;
    await reading;
    const spawnError = result.exitCode === undefined && !result.signal && result.failed ? (result.shortMessage ?? 'could not start') : null;
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      stdout,
      stdoutTruncated,
      cancelled: spec.signal.aborted,
      spawnError,
    };
  } finally {
    spec.signal.removeEventListener('abort', onAbort);
    // The leader has exited; make sure nothing it started outlives a cancel.
    if (spec.signal.aborted && child.pid !== undefined) killGroup(child.pid, 'SIGKILL');
    if (killTimer) clearTimeout(killTimer);
    forget();
  }
}

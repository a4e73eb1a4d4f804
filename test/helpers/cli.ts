// Runs the real CLI against a daemon's socket with --json and collects its
// events as they arrive.
import { spawn } from 'node:child_process';
import { CLI, testEnv } from './env.js';

export interface CliEvent {
  type: string;
  data: any;
  at: number;
}

export interface CliRun {
  events: CliEvent[];
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface CliHandle {
  events: CliEvent[];
  done: Promise<CliRun>;
  signal(name: NodeJS.Signals): void;
  // Resolves with the first event that matches.
  waitFor(match: (event: CliEvent) => boolean, timeoutMs?: number): Promise<CliEvent>;
  // Resolves once stdout matches: for plain-text output, where waitFor has no events.
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<void>;
  // What it printed on stdout so far.
  stdout(): string;
}

// An unprivileged user to run the CLI as: a made-up uid and gid (no account
// needed), with the supplementary groups given (e.g. the daemon's socket group).
export interface AsUser {
  uid: number;
  groups: number[];
}

export function asUser(user: AsUser, command: string[]): string[] {
  return ['setpriv', `--reuid=${user.uid}`, `--regid=${user.uid}`, `--groups=${user.groups.join(',')}`, '--', ...command];
}

export interface CliOptions {
  cwd?: string;
  env?: Record<string, string>;
  as?: AsUser;
}

export function startCli(args: string[], options: CliOptions = {}): CliHandle {
  const command = options.as ? asUser(options.as, [process.execPath, CLI, ...args]) : [process.execPath, CLI, ...args];
  const child = spawn(command[0]!, command.slice(1), { env: testEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd && { cwd: options.cwd }) });
  const events: CliEvent[] = [];
  const waiters: { match: (e: CliEvent) => boolean; resolve: (e: CliEvent) => void }[] = [];
  const stdoutWaiters: { pattern: RegExp; resolve: () => void }[] = [];
  let stdout = '';
  let stderr = '';
  let pending = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk;
    for (const w of stdoutWaiters.filter((w) => w.pattern.test(stdout))) {
      stdoutWaiters.splice(stdoutWaiters.indexOf(w), 1);
      w.resolve();
    }
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.startsWith('{')) continue;
      const event = { ...JSON.parse(line), at: Date.now() } as CliEvent;
      events.push(event);
      for (const w of [...waiters]) {
        if (w.match(event)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(event);
        }
      }
    }
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<CliRun>((resolve) => child.once('close', (code) => resolve({ events, stdout, stderr, code })));
  return {
    events,
    done,
    signal: (name) => child.kill(name),
    waitFor(match, timeoutMs = 60_000) {
      const found = events.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching event within ${timeoutMs} ms; got:\n${stdout}\n${stderr}`)), timeoutMs);
        waiters.push({ match, resolve: (e) => (clearTimeout(timer), resolve(e)) });
      });
    },
    stdout: () => stdout,
    waitForStdout(pattern, timeoutMs = 60_000) {
      if (pattern.test(stdout)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no output matching ${pattern} within ${timeoutMs} ms; got:\n${stdout}\n${stderr}`)), timeoutMs);
        stdoutWaiters.push({ pattern, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliRun> {
  return startCli(args, options).done;
}

export function resultOf(run: CliRun): any {
  return run.events.find((e) => e.type === 'result')?.data;
}

// Every log line the client got, in order, with its source and arrival time (a log event carries several).
export function logLinesOf(events: readonly CliEvent[]): { source: string; line: string; at: number }[] {
  return events.filter((e) => e.type === 'log').flatMap((e) => (e.data.lines as string[]).map((line) => ({ source: e.data.source as string, line, at: e.at })));
}

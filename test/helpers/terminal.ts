// Runs the real CLI on a pseudo-terminal (Python's pty module), so it sees a
// terminal exactly as a person's shell gives it one: isatty, \r\n line ends.
import { spawn } from 'node:child_process';
import { CLI, testEnv } from './env.js';

const PTY_RUNNER = `
import os, pty, select, sys
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
out = sys.stdout.buffer
while True:
    try:
        ready, _, _ = select.select([fd], [], [], 300)
        data = os.read(fd, 65536) if ready else b''
    except OSError:
        data = b''
    if not data:
        break
    out.write(data)
    out.flush()
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) & 0xff)
`;

export interface TerminalRun {
  // Everything the terminal showed, control codes included.
  output: string;
  code: number | null;
}

export function runOnTerminal(args: string[], env: Record<string, string> = {}, cwd?: string): Promise<TerminalRun> {
  const fullEnv = testEnv({ TERM: 'xterm', ...env });
  // Colour is decided by the caller's env alone (vitest may set these for itself).
  for (const name of ['NO_COLOR', 'FORCE_COLOR']) if (!(name in env)) delete fullEnv[name];
  const child = spawn('python3', ['-c', PTY_RUNNER, process.execPath, CLI, ...args], { env: fullEnv, stdio: ['ignore', 'pipe', 'inherit'], ...(cwd && { cwd }) });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) => child.once('close', (code) => resolve({ output, code })));
}

// What a person reads: the control codes removed, a redrawn line reduced to its last drawing.
export function screenText(output: string): string {
  return output
    .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
    .split('\r\n')
    .map((line) => line.split('\r').at(-1)!)
    .join('\n');
}

// eslint-disable-next-line no-control-regex
export const CONTROL_CODES = /\x1b\[/;
export const COLOUR_CODES = /\x1b\[[0-9;]*m/;

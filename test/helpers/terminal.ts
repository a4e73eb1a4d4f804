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

// What a person reads: the screen as a terminal draws it (terminalScreen below), line by line.
export function screenText(output: string): string {
  return terminalScreen(output).join('\n');
}

// eslint-disable-next-line no-control-regex
export const CONTROL_CODES = /\x1b\[/;
export const COLOUR_CODES = /\x1b\[[0-9;]*m/;

// The lines a terminal shows after OUTPUT, as it draws them: \r returns, \n goes down a line,
// ESC[2K clears the line, ESC[<n>A goes up; colour codes draw nothing. Lines redrawn in place
// (a bar, the line under it) read as they stand last.
export function terminalScreen(output: string): string[] {
  const lines: string[][] = [[]];
  let row = 0;
  let col = 0;
  // eslint-disable-next-line no-control-regex
  const tokens = output.match(/\x1b\[[0-9;]*[A-Za-z]|[\s\S]/gu) ?? [];
  for (const token of tokens) {
    if (token.startsWith('\x1b[')) {
      const code = token.at(-1);
      const n = Number(token.slice(2, -1) || '1');
      if (code === 'K') lines[row] = [];
      if (code === 'A') row = Math.max(0, row - n);
      continue;
    }
    if (token === '\r') col = 0;
    else if (token === '\n') {
      row++;
      col = 0;
      lines[row] ??= [];
    } else {
      const line = lines[row]!;
      while (line.length < col) line.push(' ');
      line[col++] = token;
    }
  }
  return lines.map((l) => l.join(''));
}

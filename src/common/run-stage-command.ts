// The shared way an install stage runs an external command: its output goes to
// the install log under the command's name; a missing command, a cancel or a
// failure each become the right error.
import { runChild, type ChildResult, type OutputStream } from '../process/run-child.js';
import type { CommandContext } from './context.js';
import { InstallCancelled, InstallError } from './install-error.js';

export interface StageCommand {
  file: string;
  args: readonly string[];
  // The label its lines carry in the log (defaults to the command name).
  source?: string;
  captureStdout?: boolean;
  // stdout lines that are data, not messages (e.g. JSON), stay out of the log.
  logStdout?: boolean;
  // stderr that needs translating first (Nix's structured log) is logged by onLine instead.
  logStderr?: boolean;
  onLine?: (line: string, stream: OutputStream) => void;
  // Written to its stdin.
  input?: string;
  // Another user to run it as, with what it adds to the environment.
  user?: { uid: number; gid: number; cwd: string; env: Record<string, string> };
  // What it adds to the environment when run as root (e.g. NIX_SSHOPTS).
  env?: Record<string, string>;
  // Builds the error for a non-zero exit.
  failure: (result: ChildResult) => InstallError;
}

export async function runStageCommand(ctx: CommandContext, command: StageCommand): Promise<ChildResult> {
  const source = command.source ?? command.file;
  const result = await runChild({
    file: command.file,
    args: command.args,
    signal: ctx.signal,
    captureStdout: command.captureStdout ?? false,
    ...(command.input !== undefined && { input: command.input }),
    ...(command.env && { env: command.env }),
    ...(command.user && { user: command.user, env: command.user.env }),
    onLine: (line, stream) => {
      if (stream === 'stderr' ? command.logStderr !== false : command.logStdout !== false) ctx.output(source, line);
      command.onLine?.(line, stream);
    },
  });
  if (result.cancelled) throw new InstallCancelled();
  if (result.spawnError !== null) {
    throw new InstallError(
      'command-missing',
      `${command.file} could not be started`,
      `${result.spawnError}. The installer needs ${command.file} on PATH; on the ISO it comes with the system. Check the daemon's PATH (systemctl show nixos-offline-installer -p Environment).`,
    );
  }
  if (result.exitCode !== 0) throw command.failure(result);
  return result;
}

// The last lines a command wrote, for an error description.
export function lastLines(ctx: CommandContext, source: string, count = 8): string {
  const lines = ctx.recentLines(source, count);
  return lines.length > 0 ? lines.map((line) => `  ${line}`).join('\n') : '  (it printed nothing)';
}

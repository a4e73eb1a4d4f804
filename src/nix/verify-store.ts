// The medium check's Nix commands: every path the live store holds, and
// each path's contents hashed against the hash registered for it.
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastMessages, parsePathInfo, type StorePathInfo } from './commands.js';
import { NIX_COMMAND_OPTIONS, OFFLINE_NIX_OPTIONS } from './options.js';
import { runNix } from './run-nix.js';
import { checkedStorePaths } from './store-path.js';

// Every valid path in the live store (`nix path-info --all`), each with its NAR size.
export async function allStorePaths(ctx: CommandContext): Promise<StorePathInfo[]> {
  const { result } = await runNix(ctx, {
    file: 'nix',
    source: 'nix path-info',
    args: ['path-info', '--all', '--json', ...NIX_COMMAND_OPTIONS],
    captureStdout: true,
    logStdout: false,
    failure: (o) => new InstallError('store-query-failed', "The live system's store could not be listed", `nix path-info --all exited with ${o.result.exitCode}:\n${lastMessages(o)}`),
  });
  return parsePathInfo(result.stdout.join('\n'));
}

class VerifyFailed extends InstallError {
  constructor(readonly said: string[]) {
    super('medium-damaged', 'A store path does not match its registered hash', said.join('\n'));
  }
}

// `nix-store --verify-path PATHS`: each path's contents hashed against the
// hash registered for it. Null when all match; else Nix's words (a mismatch
// is "path '...' was modified! expected hash ..., got ..."; a failed read
// ends the run with an error).
export async function verifyPaths(ctx: CommandContext, paths: readonly string[]): Promise<string[] | null> {
  try {
    await runNix(ctx, { file: 'nix-store', source: 'nix-store --verify-path', args: ['--verify-path', ...OFFLINE_NIX_OPTIONS], operands: checkedStorePaths(paths, 'A store path to verify'), failure: (o) => new VerifyFailed(o.messages.filter((l) => l.trim() !== '')) });
    return null;
  } catch (error) {
    if (error instanceof VerifyFailed) return error.said;
    throw error;
  }
}

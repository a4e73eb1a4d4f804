// What the copy step has to move: the system's closure with each path's NAR
// size (nix path-info), less what is already valid in the target store.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JobContext } from '../job/context.js';
import { InstallError } from '../job/install-error.js';
import { lastLines, runStepCommand } from '../job/run-step-command.js';
import { NIX_COMMAND_OPTIONS, OFFLINE_NIX_OPTIONS } from '../build/nix-options.js';

export interface StorePathInfo {
  path: string;
  narSize: number;
}

export function parsePathInfo(json: string): StorePathInfo[] {
  const parsed: unknown = JSON.parse(json);
  // Nix 2.8 prints an array of objects; Nix >= 2.19 an object keyed by path.
  const items = Array.isArray(parsed)
    ? parsed
    : Object.entries(parsed as Record<string, object>).map(([path, info]) => ({ path, ...info }));
  return items.map((item: { path?: unknown; narSize?: unknown }) => {
    if (typeof item.path !== 'string' || typeof item.narSize !== 'number') throw new Error('unexpected nix path-info output');
    return { path: item.path, narSize: item.narSize };
  });
}

export async function closureOf(ctx: JobContext, toplevel: string): Promise<StorePathInfo[]> {
  const result = await runStepCommand(ctx, {
    file: 'nix',
    source: 'nix path-info',
    args: ['path-info', '--recursive', '--json', ...NIX_COMMAND_OPTIONS, toplevel],
    captureStdout: true,
    logStdout: false,
    failure: (res) =>
      new InstallError('closure-query-failed', 'The built system could not be inspected', `nix path-info exited with ${res.exitCode}:\n${lastLines(ctx, 'nix path-info')}`),
  });
  return parsePathInfo(result.stdout.join('\n'));
}

// Paths nix copy will skip because the target already has them (a resumed install).
export async function validInTarget(ctx: JobContext, paths: readonly string[]): Promise<Set<string>> {
  // A target without a Nix database has no valid path: no need to ask.
  if (!existsSync(join(ctx.root, 'nix/var/nix/db/db.sqlite'))) return new Set();
  const result = await runStepCommand(ctx, {
    file: 'nix-store',
    args: ['--store', ctx.root, '--check-validity', '--print-invalid', ...OFFLINE_NIX_OPTIONS, ...paths],
    captureStdout: true,
    logStdout: false,
    failure: (res) =>
      new InstallError('target-store-unreadable', "The target's Nix store could not be read", `nix-store --store ${ctx.root} exited with ${res.exitCode}:\n${lastLines(ctx, 'nix-store')}`),
  });
  const invalid = new Set(result.stdout.filter(Boolean));
  return new Set(paths.filter((path) => !invalid.has(path)));
}

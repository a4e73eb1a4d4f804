// Would the system build with nothing but the local store? A dry run of its
// realisation with no substituters lists what would have to be built; a
// fixed-output derivation among those (one with an output hash: a download)
// means the configuration needs something that is not on the ISO.
import { OFFLINE_NIX_OPTIONS, NIX_COMMAND_OPTIONS } from '../build/nix-options.js';
import { PLANNED_BUILDS } from '../build/build-system.js';
import type { CommandContext } from '../job/context.js';
import { InstallError } from '../job/install-error.js';
import { lastLines, runStepCommand } from '../job/run-step-command.js';
import type { Download } from '../protocol/messages.js';

const PLANNED_FETCHES = /^(?:these (\d+) paths|this path) will be fetched/;
// Paths that are neither valid nor buildable (e.g. a .drv that was never written).
const UNKNOWN_PATHS = /^don't know how to build these paths/;

export interface Completeness {
  // Derivations the build would run locally (downloads included).
  toBuild: string[];
  downloads: Download[];
}

export function parseDryRun(lines: readonly string[]): { toBuild: string[]; toFetch: string[]; unknown: string[] } {
  const toBuild: string[] = [];
  const toFetch: string[] = [];
  const unknown: string[] = [];
  let list: string[] | null = null;
  for (const line of lines) {
    if (PLANNED_BUILDS.test(line)) list = toBuild;
    else if (PLANNED_FETCHES.test(line)) list = toFetch;
    else if (UNKNOWN_PATHS.test(line)) list = unknown;
    else if (list && /^\s+\/\S+$/.test(line)) list.push(line.trim());
    else list = null;
  }
  return { toBuild, toFetch, unknown };
}

// "/nix/store/<hash>-name.drv" -> "name"
export function storeName(path: string): string {
  return path.replace(/^.*\/[0-9a-z]{32}-/, '').replace(/\.drv$/, '');
}

interface ShownDerivation {
  outputs?: Record<string, { hash?: string }>;
  env?: Record<string, string>;
}

export function downloadsAmong(derivations: Record<string, ShownDerivation>): Download[] {
  const downloads: Download[] = [];
  for (const [drv, info] of Object.entries(derivations)) {
    const fixed = Object.values(info.outputs ?? {}).some((o) => typeof o.hash === 'string') || typeof info.env?.outputHash === 'string';
    if (!fixed) continue;
    const urls = (info.env?.urls ?? info.env?.url ?? '').split(/\s+/).filter(Boolean);
    downloads.push({ name: storeName(drv), drv, urls });
  }
  return downloads.sort((a, b) => a.name.localeCompare(b.name));
}

export async function checkCompleteness(ctx: CommandContext, drvPath: string): Promise<Completeness> {
  const output: string[] = [];
  await runStepCommand(ctx, {
    file: 'nix-store',
    source: 'nix-store --dry-run',
    args: ['--realise', '--dry-run', drvPath, ...OFFLINE_NIX_OPTIONS],
    logStdout: false,
    onLine: (line) => output.push(line),
    failure: (res) =>
      new InstallError('dry-run-failed', 'The offline check could not run', `nix-store --realise --dry-run ${drvPath} exited with ${res.exitCode}:\n${lastLines(ctx, 'nix-store --dry-run')}`),
  });
  const { toBuild, toFetch, unknown } = parseDryRun(output);
  if (unknown.length > 0) {
    throw new InstallError('dry-run-failed', 'The offline check could not run', `Nix does not know how to build:\n${unknown.map((p) => `  ${p}`).join('\n')}\nThe system's derivation is not in the store; check the NixOS expression (--nixos-expr).`);
  }
  let downloads: Download[] = toFetch.map((path) => ({ name: storeName(path), drv: path, urls: [] }));
  if (toBuild.length > 0) {
    const shown = await runStepCommand(ctx, {
      file: 'nix',
      source: 'nix show-derivation',
      args: ['show-derivation', ...NIX_COMMAND_OPTIONS, ...toBuild],
      captureStdout: true,
      logStdout: false,
      failure: (res) => new InstallError('dry-run-failed', 'The offline check could not run', `nix show-derivation exited with ${res.exitCode}:\n${lastLines(ctx, 'nix show-derivation')}`),
    });
    downloads = downloads.concat(downloadsAmong(JSON.parse(shown.stdout.join('\n')) as Record<string, ShownDerivation>));
  }
  return { toBuild, downloads };
}

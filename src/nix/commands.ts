// Every Nix command the installer runs, with its options and the parsing of
// its structured output. What differs between Nix versions (2.8 on Debian 12,
// 2.26, 2.34; 2.28+ on NixOS ISOs) is handled here and nowhere else.
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { ACTIVITY, PLANNED_BUILDS, RESULT, type BuildProgress, type NixActivities, type NixLogEvent } from './log-format.js';
import { NIX_COMMAND_OPTIONS, OFFLINE_NIX_OPTIONS, targetStore } from './options.js';
import { runNix, type NixRunOutcome } from './run-nix.js';
import { checkedStorePaths, isDerivationPath, isStorePath } from './store-path.js';

export { storeName } from './log-format.js';

export type NixFailureHandler = (outcome: NixRunOutcome) => InstallError;

export function lastMessages(outcome: NixRunOutcome, count = 8): string {
  const lines = outcome.messages.filter((l) => l.trim() !== '').slice(-count);
  return lines.length > 0 ? lines.map((l) => `  ${l}`).join('\n') : '  (it printed nothing)';
}

function unreadable(what: string, outcome: NixRunOutcome): InstallError {
  return new InstallError('nix-failed', `${what} failed`, `${what} exited with ${outcome.result.exitCode}:\n${lastMessages(outcome)}`);
}

// `nix-instantiate --eval --strict --json FILE ARGS`: the value as JSON, evaluated as the eval user.
// Read-write so that evaluating a drvPath also writes the .drv files a dry run
// needs; as the eval user, nix-daemon writes them (its store is not writable to that user).
export async function evaluateJson<T>(ctx: CommandContext, file: string, args: readonly string[], failure: NixFailureHandler): Promise<T> {
  const { result } = await runNix(ctx, {
    file: 'nix-instantiate',
    args: ['--eval', '--strict', '--json', '--read-write-mode', '--show-trace', ...args, ...OFFLINE_NIX_OPTIONS],
    operands: [file],
    captureStdout: true,
    logStdout: false,
    evaluates: true,
    failure,
  });
  if (result.stdoutTruncated) throw new InstallError('config-eval-failed', 'The configuration evaluates to too much', `nix-instantiate printed more than the installer reads (${result.stdout.length} lines kept) while evaluating ${file}. The facts it asks for (users, desktops, the system's derivation) are small; check the configuration for huge user lists.`);
  return JSON.parse(result.stdout.join('\n')) as T;
}

// Build progress ("building 2 of 5") from the events that change Nix's own counts.
export function onBuildEvents(onProgress: (progress: BuildProgress) => void) {
  return (event: NixLogEvent, activities: NixActivities) => {
    if ((event.action === 'result' && event.type === RESULT.progress) || (event.action === 'start' && event.type === ACTIVITY.build) || event.action === 'stop') {
      onProgress(activities.buildProgress());
    }
  };
}

// `nix-instantiate EXPR ARGS`: evaluates EXPR as the eval user, nix-daemon
// writing the .drv files; returns the derivation's path.
export async function instantiate(ctx: CommandContext, expr: string, args: readonly string[], failure: NixFailureHandler): Promise<string> {
  const { result } = await runNix(ctx, {
    file: 'nix-instantiate',
    args: [...args, '--show-trace', ...OFFLINE_NIX_OPTIONS],
    operands: [expr],
    captureStdout: true,
    logStdout: false,
    evaluates: true,
    failure,
  });
  const drvPath = result.stdout.filter(isDerivationPath).at(-1);
  if (!drvPath) throw new InstallError('build-failed', 'The system evaluation printed no derivation', `nix-instantiate ${expr} succeeded but printed no .drv path. Check the NixOS expression given with --nixos-expr.`);
  return drvPath;
}

// `nix-store --realise DRV...` in the live store, offline: builds what is not
// there yet and returns the out paths, reporting Nix's own build counts as they
// change. Run as root: it evaluates nothing, it runs the builders of .drv files
// already written (in nix-daemon's sandbox on the ISO).
export async function realisePaths(ctx: CommandContext, drvPaths: readonly string[], failure: NixFailureHandler, onProgress?: (progress: BuildProgress) => void): Promise<string[]> {
  const { result } = await runNix(ctx, {
    file: 'nix-store',
    source: 'nix-store --realise',
    args: ['--realise', ...OFFLINE_NIX_OPTIONS],
    operands: checkedStorePaths(drvPaths, 'A derivation to build', true),
    captureStdout: true,
    ...(onProgress && { onEvent: onBuildEvents(onProgress) }),
    failure,
  });
  return result.stdout.filter((line) => isStorePath(line) && !line.endsWith('.drv'));
}

// The system's .drv realised: its out path.
export async function realise(ctx: CommandContext, drvPath: string, onProgress: (progress: BuildProgress) => void, failure: NixFailureHandler): Promise<string> {
  const out = (await realisePaths(ctx, [drvPath], failure, onProgress)).at(-1);
  if (!out) throw new InstallError('build-failed', 'The system build printed no result', `nix-store --realise ${drvPath} succeeded but printed no store path.`);
  return out;
}

// The system of EXPR -A ATTR, built in the live store: evaluated as the eval
// user (instantiate), then its derivation realised as root.
export async function buildAttribute(
  ctx: CommandContext,
  expr: string,
  args: readonly string[],
  onProgress: (progress: BuildProgress) => void,
  failure: NixFailureHandler,
): Promise<string> {
  const drvPath = await instantiate(ctx, expr, args, failure);
  ctx.log('build', `evaluated to ${drvPath}`);
  return realise(ctx, drvPath, onProgress, failure);
}

export interface DryRun {
  toBuild: string[];
  toFetch: string[];
  // Paths neither valid nor buildable (e.g. a .drv that was never written).
  unknown: string[];
}

const PLANNED_FETCHES = /^(?:these (\d+) paths|this path) will be (?:fetched|downloaded)/;
const UNKNOWN_PATHS = /^don't know how to build these paths/;

// Nix's plan as messages: a heading, then the paths, one per message (2.8)
// or all in the heading's message (newer); both are read line by line.
export function parsePlan(messages: readonly string[]): DryRun {
  const plan: DryRun = { toBuild: [], toFetch: [], unknown: [] };
  let list: string[] | null = null;
  for (const line of messages.flatMap((m) => m.split('\n'))) {
    if (PLANNED_BUILDS.test(line)) list = plan.toBuild;
    else if (PLANNED_FETCHES.test(line)) list = plan.toFetch;
    else if (UNKNOWN_PATHS.test(line)) list = plan.unknown;
    else if (list && /^\s+\/\S+$/.test(line)) list.push(line.trim());
    else list = null;
  }
  return plan;
}

// What realising DRV would build or fetch, with no substituters.
// The plan is read from every message, not the bounded tail kept for errors: a
// system may need thousands of builds, and a download missed among them would
// fail the install offline. Only plan lines are kept (a heading or one store
// path), and only so many of them.
const MAX_PLAN_LINES = 100_000;
const PLAN_LINE = /^(?:\s+\/\S{1,400}|these \d+ |this (?:derivation|path) |don't know how to build)/;

export async function dryRun(ctx: CommandContext, drvPath: string): Promise<DryRun> {
  const plan: string[] = [];
  await runNix(ctx, {
    file: 'nix-store',
    source: 'nix-store --dry-run',
    args: ['--realise', '--dry-run', ...OFFLINE_NIX_OPTIONS],
    operands: checkedStorePaths([drvPath], "The system's derivation (system.build.toplevel.drvPath)", true),
    logStdout: false,
    onEvent: (event) => {
      if (event.action !== 'msg' || plan.length >= MAX_PLAN_LINES) return;
      for (const line of event.text.split('\n')) {
        if (PLAN_LINE.test(line)) plan.push(line);
        // Any other line still ends a list, as parsePlan reads it.
        else if (plan.at(-1) !== '') plan.push('');
      }
    },
    failure: (o) => new InstallError('dry-run-failed', 'The offline check could not run', `nix-store --realise --dry-run ${drvPath} exited with ${o.result.exitCode}:\n${lastMessages(o)}`),
  });
  if (plan.length >= MAX_PLAN_LINES) throw new InstallError('dry-run-failed', 'The offline check could not run', `nix-store --realise --dry-run ${drvPath} printed more than ${MAX_PLAN_LINES} lines; the installer cannot check a plan that large.`);
  return parsePlan(plan);
}

export interface DerivationFacts {
  // A fixed-output derivation: its output hash is known in advance, i.e. a download.
  fixedOutput: boolean;
  urls: string[];
}

interface ShownDerivation {
  outputs?: Record<string, { hash?: unknown; hashAlgo?: unknown; method?: unknown }>;
  env?: Record<string, string>;
}

// `nix show-derivation` (2.8) became `nix derivation show` (2.15); newer
// versions key the JSON by the path without the store directory.
export function parseShownDerivations(json: string, storeDir = '/nix/store'): Map<string, DerivationFacts> {
  const parsed = JSON.parse(json) as Record<string, unknown>;
  const derivations = (parsed.derivations && typeof parsed.derivations === 'object' ? parsed.derivations : parsed) as Record<string, ShownDerivation>;
  const facts = new Map<string, DerivationFacts>();
  for (const [key, info] of Object.entries(derivations)) {
    const path = key.startsWith('/') ? key : `${storeDir}/${key}`;
    const fixedOutput = Object.values(info.outputs ?? {}).some((o) => o.hash !== undefined && o.hash !== null && o.hash !== '') || typeof info.env?.outputHash === 'string';
    const urls = (info.env?.urls ?? info.env?.url ?? '').split(/\s+/).filter(Boolean);
    facts.set(path, { fixedOutput, urls });
  }
  return facts;
}

export async function showDerivations(ctx: CommandContext, drvPaths: readonly string[], version: NixVersion): Promise<Map<string, DerivationFacts>> {
  const subcommand = version.atLeast(2, 15) ? ['derivation', 'show'] : ['show-derivation'];
  const { result } = await runNix(ctx, {
    file: 'nix',
    source: `nix ${subcommand.join(' ')}`,
    args: [...subcommand, ...NIX_COMMAND_OPTIONS],
    operands: checkedStorePaths(drvPaths, 'A derivation to inspect', true),
    captureStdout: true,
    logStdout: false,
    failure: (o) => new InstallError('dry-run-failed', 'The offline check could not run', `nix ${subcommand.join(' ')} exited with ${o.result.exitCode}:\n${lastMessages(o)}`),
  });
  return parseShownDerivations(result.stdout.join('\n'));
}

export interface StorePathInfo {
  path: string;
  narSize: number;
}

// The NAR bytes of PATHS together: what a copy of them moves and the disk must hold.
export function narBytes(paths: readonly StorePathInfo[]): number {
  return paths.reduce((sum, p) => sum + p.narSize, 0);
}

// Nix 2.8 prints an array of objects; Nix >= 2.19 an object keyed by path
// (newer still: keyed by the path without the store directory).
export function parsePathInfo(json: string, storeDir = '/nix/store'): StorePathInfo[] {
  const parsed: unknown = JSON.parse(json);
  const items = Array.isArray(parsed)
    ? parsed
    : Object.entries((parsed as { info?: object }).info ?? (parsed as Record<string, object>)).map(([path, info]) => ({ path: path.startsWith('/') ? path : `${storeDir}/${path}`, ...info }));
  return items.map((item: { path?: unknown; narSize?: unknown }) => {
    if (typeof item.path !== 'string' || typeof item.narSize !== 'number') throw new Error('unexpected nix path-info output');
    return { path: item.path, narSize: item.narSize };
  });
}

// The closure of PATH (or of several paths) in the live store, each path with its NAR size.
export async function closureInfo(ctx: CommandContext, path: string | readonly string[]): Promise<StorePathInfo[]> {
  const { result } = await runNix(ctx, {
    file: 'nix',
    source: 'nix path-info',
    args: ['path-info', '--recursive', '--json', ...NIX_COMMAND_OPTIONS],
    operands: checkedStorePaths([path].flat(), 'The system to install'),
    captureStdout: true,
    logStdout: false,
    failure: (o) => new InstallError('closure-query-failed', 'The built system could not be inspected', `nix path-info exited with ${o.result.exitCode}:\n${lastMessages(o)}`),
  });
  return parsePathInfo(result.stdout.join('\n'));
}

// Which of PATHS the target store (under ROOT) lacks.
export async function invalidInTarget(ctx: CommandContext, root: string, paths: readonly string[]): Promise<Set<string>> {
  const { result } = await runNix(ctx, {
    file: 'nix-store',
    args: ['--store', targetStore(root), '--check-validity', '--print-invalid', ...OFFLINE_NIX_OPTIONS],
    operands: checkedStorePaths(paths, 'A path to copy'),
    captureStdout: true,
    logStdout: false,
    failure: (o) => new InstallError('target-store-unreadable', "The target's Nix store could not be read", `nix-store --store ${root} exited with ${o.result.exitCode}:\n${lastMessages(o)}`),
  });
  return new Set(result.stdout.filter(Boolean));
}

export class NixVersion {
  constructor(readonly major: number, readonly minor: number, readonly text: string) {}

  atLeast(major: number, minor: number): boolean {
    return this.major > major || (this.major === major && this.minor >= minor);
  }
}

let cachedVersion: Promise<NixVersion> | null = null;

// `nix --version`: "nix (Nix) 2.34.8"; asked once per daemon.
export function nixVersion(ctx: CommandContext): Promise<NixVersion> {
  cachedVersion ??= (async () => {
    const { result } = await runNix(ctx, { file: 'nix', args: ['--version'], captureStdout: true, failure: (o) => unreadable('nix --version', o) });
    const text = result.stdout.join(' ').trim();
    const match = /(\d+)\.(\d+)/.exec(text);
    if (!match) throw new InstallError('nix-failed', 'Nix did not say its version', `nix --version printed "${text}".`);
    return new NixVersion(Number(match[1]), Number(match[2]), text);
  })();
  cachedVersion.catch(() => (cachedVersion = null));
  return cachedVersion;
}

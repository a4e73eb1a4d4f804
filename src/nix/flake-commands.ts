// The Nix commands run on a flake configuration folder. The folder is always
// given as a `path:` flake (its files as they are, whether or not it is a git
// checkout) and every command gets FLAKE_OPTIONS, so nothing is looked up,
// fetched or written: the inputs come from the store, as locked.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FLAKE_CONFIG_NAME } from './flake-config-name.js';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastMessages, nixVersion, realise, type NixFailureHandler, type NixVersion } from './commands.js';
import type { BuildProgress } from './log-format.js';
import { FLAKE_OPTIONS, OFFLINE_NIX_OPTIONS } from './options.js';
import { runNix } from './run-nix.js';
import { checkedStorePaths, isDerivationPath } from './store-path.js';

export function isFlakeFolder(dir: string): boolean {
  return existsSync(join(dir, 'flake.nix'));
}

// Characters Nix 2.8 takes in a `path:` URL as they are (it does not decode %-escapes there).
const PLAIN_PATH = /^\/[A-Za-z0-9._/+=@,~-]*$/;


// `path:DIR`: plain paths as they are; others %-escaped on Nix >= 2.26
// (tested on 2.26 and 2.34); older Nix cannot name such a folder at all.
export function flakeRef(dir: string, version: NixVersion): string {
  if (PLAIN_PATH.test(dir)) return `path:${dir}`;
  if (version.atLeast(2, 26)) return `path:${dir.split('/').map(encodeURIComponent).join('/')}`;
  throw new InstallError(
    'flake-path-unsupported',
    'Nix cannot read a flake from this folder',
    `${dir} has characters (spaces, #, ?, ...) that ${version.text} cannot take in a flake reference. Use a folder or mount point whose path has only letters, digits and . _ - / (for example /mnt), then start again.`,
  );
}

export async function folderFlakeRef(ctx: CommandContext, dir: string): Promise<string> {
  return flakeRef(dir, await nixVersion(ctx));
}

// Configuration NAME's attribute path under the flake's outputs.
export function configurationAttr(name: string, ...rest: string[]): string {
  if (!FLAKE_CONFIG_NAME.test(name)) throw new Error(`not a plain configuration name: ${name}`);
  return ['nixosConfigurations', name, ...rest].join('.');
}

// A Nix string literal holding TEXT (for expressions this installer writes itself).
export function nixString(text: string): string {
  return `"${text.replace(/[\\"$]/g, (c) => `\\${c}`).replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t')}"`;
}

export interface DeclaredInputs {
  // Names under `inputs` in flake.nix.
  inputs: string[];
  // The outputs function's arguments: one not under `inputs` is an input Nix
  // looks up in the flake registry.
  formals: string[];
}

// The inputs flake.nix declares, read with plain evaluation of flake.nix
// alone (its `outputs` is not called, nothing is fetched).
const DECLARED_INPUTS = `{ flake }:
let f = import (/. + flake); in
{
  inputs = builtins.attrNames (f.inputs or { });
  formals = if builtins.isFunction (f.outputs or null) then builtins.attrNames (builtins.functionArgs f.outputs) else [ ];
}`;

export async function declaredFlakeInputs(ctx: CommandContext, dir: string, failure: NixFailureHandler): Promise<DeclaredInputs> {
  const { result } = await runNix(ctx, {
    file: 'nix-instantiate',
    source: 'nix-instantiate flake.nix',
    args: ['--eval', '--strict', '--json', '-E', DECLARED_INPUTS, '--argstr', 'flake', join(dir, 'flake.nix'), ...OFFLINE_NIX_OPTIONS],
    captureStdout: true,
    logStdout: false,
    evaluates: true,
    failure,
  });
  return JSON.parse(result.stdout.join('\n')) as DeclaredInputs;
}

// `nix eval --json REF#ATTR --apply FN`: the value as JSON, evaluated purely, as a build would.
export async function evaluateFlakeJson<T>(ctx: CommandContext, ref: string, attr: string, apply: string, failure: NixFailureHandler): Promise<T> {
  const { result } = await runNix(ctx, {
    file: 'nix',
    source: 'nix eval',
    args: ['eval', '--json', '--show-trace', ...FLAKE_OPTIONS, '--apply', apply],
    operands: [`${ref}#${attr}`],
    captureStdout: true,
    logStdout: false,
    evaluates: true,
    failure,
  });
  return JSON.parse(result.stdout.join('\n')) as T;
}

// REF#ATTR (a derivation) built in the live store: its drvPath evaluated as
// the eval user (`nix eval --raw`, nix-daemon writing the .drv files), then
// realised as root, which evaluates nothing. Returns the out path.
export async function buildFlakeAttribute(ctx: CommandContext, ref: string, attr: string, onProgress: (progress: BuildProgress) => void, failure: NixFailureHandler): Promise<string> {
  const { result } = await runNix(ctx, {
    file: 'nix',
    source: 'nix eval',
    args: ['eval', '--raw', '--show-trace', ...FLAKE_OPTIONS],
    operands: [`${ref}#${attr}.drvPath`],
    captureStdout: true,
    logStdout: false,
    evaluates: true,
    failure,
  });
  const drvPath = result.stdout.join('').trim();
  if (!isDerivationPath(drvPath)) throw new InstallError('build-failed', 'The system evaluation printed no derivation', `nix eval ${ref}#${attr}.drvPath printed no .drv path:\n  ${result.stdout.join('\n  ').slice(0, 2000)}`);
  ctx.log('build', `evaluated to ${drvPath}`);
  return realise(ctx, drvPath, onProgress, failure);
}

// Which of PATHS the live store lacks.
export async function invalidInLiveStore(ctx: CommandContext, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const { result } = await runNix(ctx, {
    file: 'nix-store',
    args: ['--check-validity', '--print-invalid', ...OFFLINE_NIX_OPTIONS],
    operands: checkedStorePaths(paths, 'A flake input'),
    captureStdout: true,
    logStdout: false,
    failure: (o) => new InstallError('nix-failed', "The live system's Nix store could not be read", `nix-store --check-validity exited with ${o.result.exitCode}:\n${lastMessages(o)}`),
  });
  return new Set(result.stdout.filter(Boolean));
}

// Where Nix copied the flake folder in the store (error positions point into
// that copy): `nix flake metadata --json`'s "path".
export async function flakeStoreCopy(ctx: CommandContext, ref: string, failure: NixFailureHandler): Promise<string | null> {
  const { result } = await runNix(ctx, {
    file: 'nix',
    source: 'nix flake metadata',
    args: ['flake', 'metadata', '--json', ...FLAKE_OPTIONS],
    operands: [ref],
    captureStdout: true,
    logStdout: false,
    // It reads the folder and evaluates flake.nix's inputs.
    evaluates: true,
    failure,
  });
  const path = (JSON.parse(result.stdout.join('\n')) as { path?: unknown }).path;
  return typeof path === 'string' ? path : null;
}

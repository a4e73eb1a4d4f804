// Flake configuration folders for the tests. The stand-in nixpkgs
// (test/fixtures/nixpkgs-flake/flake.nix with test/fixtures/nixos as nixos/)
// is packed into a tarball; a configuration flake's `nixpkgs` input is that
// tarball, locked by real Nix (`nix flake lock`), and put in the store as the
// ISO build would (`nix flake archive`). The tarball can then be deleted:
// only the store holds the input.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configurationNix, type ConfigSpec } from './config.js';
import { NIX_CONFIG, NIXOS_EXPR, REPO } from './env.js';

export const NIXPKGS_FLAKE = join(REPO, 'test/fixtures/nixpkgs-flake/flake.nix');

// Nix with flakes, and caches in CACHE (so no cache outside the test can stand in for the store).
export function flakeNixEnv(cache: string): NodeJS.ProcessEnv {
  return { ...process.env, NIX_CONFIG: `${NIX_CONFIG}\nexperimental-features = nix-command flakes`, XDG_CACHE_HOME: cache };
}

export function nixOut(args: string[], env: NodeJS.ProcessEnv, file = 'nix'): string {
  return execFileSync(file, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let system: string | null = null;
export function currentSystem(): string {
  system ??= JSON.parse(execFileSync('nix-instantiate', ['--eval', '--json', '-E', 'builtins.currentSystem'], { env: { ...process.env, NIX_CONFIG }, encoding: 'utf8' })) as string;
  return system;
}

// DIR/nixpkgs.tar.gz: one top-level folder holding flake.nix and nixos/.
export async function standInNixpkgsTarball(dir: string): Promise<string> {
  const tree = join(dir, 'nixpkgs-tree');
  await mkdir(join(tree, 'nixpkgs'), { recursive: true });
  await cp(NIXPKGS_FLAKE, join(tree, 'nixpkgs/flake.nix'));
  await cp(NIXOS_EXPR, join(tree, 'nixpkgs/nixos'), { recursive: true });
  const tarball = join(dir, 'nixpkgs.tar.gz');
  execFileSync('tar', ['-czf', tarball, '-C', tree, 'nixpkgs']);
  return tarball;
}

export interface FlakeSpec {
  // Configuration name -> its module; one module file per configuration.
  configurations: Record<string, ConfigSpec>;
  // Lines added to flake.nix (e.g. another input).
  extraInputs?: string;
  // Arguments of outputs besides self and nixpkgs.
  extraFormals?: string[];
}

export async function writeFlakeConfig(dir: string, tarball: string, spec: FlakeSpec): Promise<string> {
  await mkdir(dir, { recursive: true });
  const names = Object.keys(spec.configurations);
  const moduleFile = (name: string) => (names.length === 1 ? 'configuration.nix' : `${name}.nix`);
  for (const name of names) await writeFile(join(dir, moduleFile(name)), configurationNix({ ...spec.configurations[name], inFlake: true }));
  await writeFile(join(dir, 'hardware-configuration.nix'), '# template\n{ ... }: { }\n');
  const configurations = names.map((name) => `      ${name} = nixpkgs.lib.nixosSystem { system = "${currentSystem()}"; modules = [ ./${moduleFile(name)} ]; };`).join('\n');
  await writeFile(
    join(dir, 'flake.nix'),
    `{
  description = "A test configuration";
  inputs.nixpkgs.url = "file://${tarball}";
${spec.extraInputs ?? ''}
  outputs = { self, nixpkgs${(spec.extraFormals ?? []).map((f) => `, ${f}`).join('')} }: {
    nixosConfigurations = {
${configurations}
    };
  };
}
`,
  );
  return dir;
}

// `nix flake lock`, then `nix flake archive`: every locked input in the store. Returns flake.lock's text.
export async function lockFlake(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  nixOut(['flake', 'lock', `path:${dir}`], env);
  nixOut(['flake', 'archive', `path:${dir}`], env);
  return readFile(join(dir, 'flake.lock'), 'utf8');
}

// Edits flake.lock's node for `nixpkgs`.
export async function editLock(dir: string, edit: (locked: Record<string, unknown>) => void): Promise<void> {
  const file = join(dir, 'flake.lock');
  const lock = JSON.parse(await readFile(file, 'utf8'));
  edit(lock.nodes.nixpkgs.locked);
  await writeFile(file, `${JSON.stringify(lock, null, 2)}\n`);
}

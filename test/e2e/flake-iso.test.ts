// The ISO side of a flake nix-cfg, as far as it runs without nixpkgs:
// nix/flake-config.nix calls the flake from its flake.lock with real Nix (the
// ISO is built online: the stand-in nixpkgs flake's tarball is there; Nix
// 2.26+ fetches a locked tarball again outside a flake's own evaluation),
// lists the input store paths the ISO must carry (the same ones the daemon
// checks) and the manifest entry, which the real daemon then reads, offline.
import { execFileSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { REPO, scratch } from '../helpers/env.js';
import { currentSystem, flakeNixEnv, lockFlake, nixOut, standInNixpkgsTarball, writeFlakeConfig } from '../helpers/flake.js';
import { writeConfig } from '../helpers/config.js';
import { sourceStorePath } from '../../src/nix/flake-lock.js';

let dir: string;
let daemon: RunningDaemon | null = null;
let source: string;
let nixEnv: NodeJS.ProcessEnv;
let tarball: string;

beforeEach(async () => {
  dir = await scratch('flake-iso');
  nixEnv = flakeNixEnv(join(dir, 'cache'));
  tarball = await standInNixpkgsTarball(dir);
  source = await writeFlakeConfig(join(dir, 'nix-cfg'), tarball, { configurations: { office: { hostName: 'office-01', users: ['bob'] }, field: { hostName: 'field-01' } } });
  await lockFlake(source, nixEnv);
});
afterEach(async () => {
  await cleanUp(dir, daemon);
  daemon = null;
});

function evalJson(expression: string): any {
  return JSON.parse(nixOut(['--eval', '--strict', '--json', '-E', expression], { ...nixEnv, XDG_CACHE_HOME: join(dir, 'eval-cache') }, 'nix-instantiate'));
}

// As flake.nix's callNixCfgFlake calls it.
const flakeConfig = (configuration: string | null) =>
  `import ${REPO}/nix/flake-config.nix { nixCfg = ${source}; system = "${currentSystem()}"; configuration = ${configuration === null ? 'null' : `"${configuration}"`}; }`;

describe('nix/flake-config.nix', () => {
  it('lists every locked input with the store path the daemon checks, and the manifest entry', async () => {
    const result = evalJson(
      `let f = ${flakeConfig('field')}; in { inherit (f) configuration inputPaths manifest; inherit (f.target) nixpkgsSource targetSettings; facts = import ${REPO}/nix/config-facts.nix { evaluated = f.target; withDrvPath = false; }; }`,
    );
    const lock = JSON.parse(await readFile(join(source, 'flake.lock'), 'utf8'));
    const expected = sourceStorePath(lock.nodes.nixpkgs.locked.narHash);
    expect(result.inputPaths).toEqual([expected]);
    expect(result.manifest).toEqual({
      configuration: 'field',
      configurations: { field: { hostName: 'field-01' }, office: { hostName: 'office-01' } },
      inputs: [{ name: 'nixpkgs', type: 'tarball', narHash: lock.nodes.nixpkgs.locked.narHash, storePath: expected }],
    });
    expect(result.facts).toMatchObject({ version: 1, users: ['alice'], desktops: ['gnome'], settings: { hostName: 'field-01' } });
    // What nix/iso.nix takes from the target: the flake's nixpkgs as the ISO's <nixpkgs> and the daemon's expression.
    expect(result.nixpkgsSource).toBe(expected);
    expect(result.targetSettings).toMatchObject({ system: currentSystem(), nixpkgs: { path: expected, narHash: lock.nodes.nixpkgs.locked.narHash } });
  });

  it('evaluates the configuration to the very derivation the daemon evaluates from the same folder (nothing to build for an unchanged one)', () => {
    const iso = evalJson(`(${flakeConfig('field')}).target.config.system.build.toplevel.drvPath`);
    const daemonSide = JSON.parse(nixOut(['eval', '--json', '--offline', '--no-update-lock-file', `path:${source}#nixosConfigurations.field.config.system.build.toplevel.drvPath`], nixEnv));
    expect(iso).toBe(daemonSide);
  });

  it("gives nix/target-system.nix (the daemon's expression for a classic folder on this ISO) the flake's nixpkgs", async () => {
    const classic = await writeConfig(join(dir, 'classic'), { hostName: 'classic-01' });
    const result = evalJson(
      `let f = ${flakeConfig('field')}; t = import ${REPO}/nix/target-system.nix f.target.targetSettings { configuration = ${classic}/configuration.nix; }; in { name = t.system.name; source = t.config.nixpkgs.flake.source; }`,
    );
    expect(result).toEqual({ name: 'nixos-system-classic-01-stand-in', source: sourceStorePath(JSON.parse(await readFile(join(source, 'flake.lock'), 'utf8')).nodes.nixpkgs.locked.narHash) });
  });

  it('asks which configuration to carry when the flake has several', () => {
    let stderr = '';
    try {
      evalJson(`(${flakeConfig(null)}).configuration`);
    } catch (error) {
      stderr = String((error as { stderr?: unknown }).stderr);
    }
    expect(stderr).toContain('has 2 nixosConfigurations (field, office): say which one the ISO carries built');
  });

  it("gives manifest data the daemon reads: the shipped configuration's facts without evaluating it", async () => {
    const data = evalJson(`let f = ${flakeConfig('office')}; in import ${REPO}/nix/manifest-data.nix { evaluated = f.target; configDir = "${source}"; flake = f.manifest; }`);
    expect(data.flake.configuration).toBe('office');
    const manifest = join(dir, 'manifest.json');
    await writeFile(manifest, JSON.stringify({ ...data, closureBytes: 1_000_000 }));
    // Installing is offline: the input only in the store.
    await rm(tarball);
    daemon = await startDaemon({ dir, configDirs: [source], extraArgs: ['--manifest', manifest], env: { XDG_CACHE_HOME: join(dir, 'daemon-cache') } });

    const shipped = await runCli(['validate', '--socket', daemon.socket, '--json', '--flake-config', 'office', '--user', 'bob']);
    expect(shipped.code, shipped.stdout).toBe(0);
    expect(shipped.events[0]!.data.validation.facts).toMatchObject({ origin: 'manifest', users: ['bob'], toplevel: data.toplevel, flake: { configuration: 'office', configurations: ['field', 'office'] } });

    // Another configuration of the same flake is evaluated (the manifest describes only the shipped one).
    const other = await runCli(['validate', '--socket', daemon.socket, '--json', '--flake-config', 'field', '--user', 'alice']);
    expect(other.code, other.stdout).toBe(0);
    expect(other.events[0]!.data.validation.facts).toMatchObject({ origin: 'evaluation', users: ['alice'], flake: { configuration: 'field' } });
  });
});

describe('the ISO wiring', () => {
  it('flake.nix, iso.nix and the manifest take a flake nix-cfg through nix/flake-config.nix', async () => {
    const flakeNix = await readFile(join(REPO, 'flake.nix'), 'utf8');
    const isoNix = await readFile(join(REPO, 'nix/iso.nix'), 'utf8');
    expect(flakeNix).toContain('import ./nix/flake-config.nix { inherit nixCfg system; configuration = flakeConfiguration; }');
    expect(isoNix).toContain('nixCfgFlake.inputPaths');
    expect(isoNix).toContain('flake = if nixCfgFlake == null then null else nixCfgFlake.manifest;');
    execFileSync('nix-instantiate', ['--parse', join(REPO, 'nix/flake-config.nix')], { env: nixEnv, stdio: 'ignore' });
  });
});

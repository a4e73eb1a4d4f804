// The installed system is the one the ISO built: flake.nix's lib.mkTarget (the
// ISO build) and the daemon on the ISO (its --nixos-expr, the folder
// nix/target-expression.nix makes) evaluate the target the same way, down to
// the derivation. Run with real Nix and the real daemon against a stand-in
// nixpkgs flake (test/fixtures/nixpkgs-flake), stored as Nix stores a flake
// input: a path named "source", found by its NAR hash.
import { execFileSync } from 'node:child_process';
import { cp, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { startDaemon } from '../helpers/daemon.js';
import { FIXTURE_CFG, NIX_CONFIG, NIXOS_EXPR, REPO, scratch } from '../helpers/env.js';

const env = { ...process.env, NIX_CONFIG };
const REV = '0123456789abcdef0123456789abcdef01234567';

function nix(file: string, args: string[]): string {
  return execFileSync(file, args, { cwd: REPO, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function evalJson(expression: string, extra: string[] = []): any {
  return JSON.parse(nix('nix-instantiate', ['--eval', '--strict', '--json', '--read-write-mode', '-E', expression, ...extra]));
}

describe("the daemon's NixOS expression on the ISO", () => {
  let dir: string;
  let cfg: string;
  let nixpkgsSource: string;
  let isoTarget: string;
  let nixosConfig: string[];

  beforeAll(async () => {
    dir = await scratch('target-expr');
    const source = join(dir, 'source');
    await mkdir(source);
    await cp(join(REPO, 'test/fixtures/nixpkgs-flake/flake.nix'), join(source, 'flake.nix'));
    await cp(NIXOS_EXPR, join(source, 'nixos'), { recursive: true });
    nixpkgsSource = nix('nix-store', ['--add-fixed', '--recursive', 'sha256', source]);
    const narHash = nix('nix', ['--extra-experimental-features', 'nix-command', 'hash', 'path', nixpkgsSource]);
    cfg = join(dir, 'nix-cfg');
    await cp(FIXTURE_CFG, cfg, { recursive: true });
    nixosConfig = ['-I', `nixos-config=${cfg}/configuration.nix`];
    // A locked input as Nix hands it to a flake's outputs: store path and source info.
    const input = `{ outPath = "${nixpkgsSource}"; narHash = "${narHash}"; rev = "${REV}"; shortRev = "${REV.slice(0, 7)}"; lastModified = 1780000000; lastModifiedDate = "20260601000000"; }`;
    isoTarget = `((import ${REPO}/flake.nix).outputs { self = { }; nixpkgs = ${input}; }).lib.mkTarget { system = builtins.currentSystem; nixCfg = ${cfg}; }`;
  });

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('is a folder that carries the nixpkgs source, and the daemon evaluates the same derivation as the ISO build', async () => {
    const isoDrv = evalJson(`(${isoTarget}).system.drvPath`, nixosConfig);
    // The flake build's facts reached the system: nixpkgs' own source (with its store reference) and revision.
    expect(evalJson(`(${isoTarget}).config.nixpkgs.flake.source`, nixosConfig)).toBe(nixpkgsSource);
    expect(evalJson(`(${isoTarget}).config.system.nixos.revision`, nixosConfig)).toBe(REV);
    expect(nix('nix-store', ['--query', '--references', isoDrv]).split('\n')).toContain(nixpkgsSource);

    // nix/target-expression.nix as the ISO builds it, with a runCommand made of a plain derivation.
    const runCommand = 'name: env: script: derivation (env // { inherit name script; system = builtins.currentSystem; builder = "/bin/sh"; args = [ "-c" "eval \\"$script\\"" ]; PATH = "/usr/bin:/bin"; })';
    const folder = nix('nix-build', ['--no-out-link', '-E', `import ${REPO}/nix/target-expression.nix { runCommand = ${runCommand}; target = ${isoTarget}; }`, ...nixosConfig]);
    expect(JSON.parse(await readFile(join(folder, 'target.json'), 'utf8'))).toMatchObject({ nixpkgs: { path: nixpkgsSource, rev: REV }, system: expect.any(String) });
    expect(nix('nix-store', ['--query', '--requisites', folder]).split('\n')).toContain(nixpkgsSource);

    // What the build step runs (nix-build <expr> -A system -I nixos-config=...), on a staged copy of the folder.
    const staged = join(dir, 'staged');
    await cp(cfg, staged, { recursive: true });
    expect(nix('nix-instantiate', [folder, '-A', 'system', '-I', `nixos-config=${staged}/configuration.nix`])).toBe(isoDrv);
    // The stock entry point (here the stand-in for <nixpkgs/nixos>) evaluates another system: hence the folder.
    expect(nix('nix-instantiate', [NIXOS_EXPR, '-A', 'system', '-I', `nixos-config=${staged}/configuration.nix`])).not.toBe(isoDrv);

    // The real daemon given the folder as --nixos-expr: its checks evaluate the very derivation the ISO built.
    const daemon = await startDaemon({ dir, configDirs: [staged], extraArgs: ['--nixos-expr', folder] });
    try {
      const run = await runCli(['validate', '--socket', daemon.socket, '--json', '--user', 'alice', '--desktop', 'gnome']);
      expect(run.code, run.stdout + run.stderr).toBe(0);
      expect(run.events[0]!.data.validation.facts).toMatchObject({ origin: 'evaluation', users: ['alice'], desktops: ['gnome'], drvPath: isoDrv });
    } finally {
      await daemon.stop();
    }
  });
});

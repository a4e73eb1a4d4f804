// The stand-in NixOS expression (test/fixtures/nixos) merges modules as
// nixpkgs' lib.modules does where the installer depends on it: priorities of
// mkOverride/mkDefault/mkForce (also pushed down into attribute sets), mkIf,
// list concatenation, and options that read other options lazily. Checked
// with real Nix, since the choices tests trust it.
import { execFileSync } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NIXOS_EXPR, NIX_CONFIG, scratch } from '../helpers/env.js';

let dir: string;
beforeAll(async () => (dir = await scratch('stand-in')));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function evaluate(module: string, attrs: string): Promise<unknown> {
  const file = join(dir, `m${Math.random().toString(36).slice(2)}.nix`);
  await writeFile(file, module);
  const expr = `let c = (import ${NIXOS_EXPR} { configuration = ${file}; }).config; in ${attrs}`;
  return JSON.parse(execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr, '-I', `nixos-config=${file}`], { env: { ...process.env, NIX_CONFIG }, encoding: 'utf8' }));
}

describe('the stand-in NixOS module merge', () => {
  it('honours priorities, mkIf and list concatenation as nixpkgs does', async () => {
    const value = await evaluate(
      `{ lib, ... }: {
        imports = [ ({ lib, ... }: { time.timeZone = lib.mkDefault "Europe/Berlin"; networking.hostName = lib.mkDefault "chosen"; xs = [ 1 ]; z = lib.mkForce { a = 1; }; o = lib.mkOverride 900 "900"; }) ];
        time.timeZone = "UTC";
        xs = [ 2 ];
        z.a = 2; z.b = 3;
        o = lib.mkDefault "1000";
        i = lib.mkIf false "never";
        j = lib.mkIf true "yes";
      }`,
      '{ inherit (c) time networking xs z o j; i = c.i or "unset"; }',
    );
    expect(value).toEqual({ time: { timeZone: 'UTC' }, networking: { hostName: 'chosen' }, xs: [1, 2], z: { a: 1, b: 3 }, o: '900', j: 'yes', i: null });
  });

  it('refuses different strings at the same priority, as nixpkgs reports a conflict, and takes equal ones', async () => {
    const conflicting = evaluate('{ lib, ... }: { imports = [ { time.timeZone = lib.mkDefault "UTC"; } ]; time.timeZone = lib.mkDefault "Europe/Berlin"; }', 'c.time');
    await expect(conflicting).rejects.toThrow(/conflicting definition values at priority 1000: "UTC", "Europe\/Berlin"/);
    expect(await evaluate('{ lib, ... }: { imports = [ { time.timeZone = "UTC"; } ]; time.timeZone = "UTC"; }', 'c.time')).toEqual({ timeZone: 'UTC' });
  });

  it('lets a value read another option lazily, as generated hardware configurations do', async () => {
    const value = await evaluate(
      `{ config, lib, modulesPath, ... }: {
        imports = [ (modulesPath + "/installer/scan/not-detected.nix") ];
        hardware.cpu.intel.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;
      }`,
      'c.hardware',
    );
    expect(value).toEqual({ cpu: { intel: { updateMicrocode: true } }, enableRedistributableFirmware: true });
  });
});

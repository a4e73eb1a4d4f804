// The stand-in NixOS expression (test/fixtures/nixos) merges modules as
// nixpkgs' lib.modules does where the installer depends on it: priorities of
// mkOverride/mkDefault/mkForce (also pushed down into attribute sets), mkIf,
// mkMerge, merging by each option's type (conflicts reported), undeclared
// options refused, and options that read other options lazily. Checked
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
  it('honours priorities, mkIf, mkMerge and list concatenation as nixpkgs does', async () => {
    const value = await evaluate(
      `{ lib, ... }: {
        imports = [ ({ lib, ... }: { time.timeZone = lib.mkDefault "Europe/Berlin"; networking.hostName = lib.mkDefault "chosen"; boot.kernelModules = [ "a" ]; boot.loader.grub = lib.mkForce { device = "/dev/sda"; }; i18n.defaultLocale = lib.mkOverride 900 "900"; }) ];
        time.timeZone = "UTC";
        boot.kernelModules = [ "b" ];
        boot.loader.grub.device = "/dev/vda"; boot.loader.grub.efiSupport = true;
        i18n.defaultLocale = lib.mkDefault "1000";
        console.keyMap = lib.mkIf false "never";
        system.stateVersion = lib.mkIf true "yes";
        services.xserver = lib.mkMerge [ { xkb.layout = "de"; } (lib.mkIf false { xkb.variant = "never"; }) ];
      }`,
      '{ t = c.time.timeZone; h = c.networking.hostName; s = c.system.stateVersion; k = c.boot.kernelModules; g = c.boot.loader.grub; l = c.i18n.defaultLocale; m = c.console.keyMap or "unset"; x = c.services.xserver.xkb; }',
    );
    // A definition that is all mkIf false is null here (nixpkgs would fall back to the option's default).
    expect(value).toEqual({ t: 'UTC', h: 'chosen', k: ['a', 'b'], g: { device: '/dev/sda', efiSupport: true }, l: '900', m: null, s: 'yes', x: { layout: 'de', variant: null } });
  });

  it('reports different values at the same priority as nixpkgs does, for strings, booleans and numbers alike, and takes equal ones', async () => {
    const strings = evaluate('{ lib, ... }: { imports = [ { time.timeZone = lib.mkDefault "UTC"; } ]; time.timeZone = lib.mkDefault "Europe/Berlin"; }', 'c.time');
    await expect(strings).rejects.toThrow(/The option `time\.timeZone' has conflicting definition values:\s+- In `[^']*': "UTC"\s+- In `[^']*': "Europe\/Berlin"/);
    const booleans = evaluate('{ imports = [ { boot.loader.grub.efiSupport = true; } ]; boot.loader.grub.efiSupport = false; }', 'c.boot.loader.grub.efiSupport');
    await expect(booleans).rejects.toThrow(/The option `boot\.loader\.grub\.efiSupport' has conflicting definition values/);
    const numbers = evaluate('{ imports = [ { users.users.alice.uid = 1000; } ]; users.users.alice.uid = 1001; }', 'c.users.users.alice.uid');
    await expect(numbers).rejects.toThrow(/The option `users\.users\.alice\.uid' has conflicting definition values/);
    expect(await evaluate('{ imports = [ { time.timeZone = "UTC"; boot.loader.grub.efiSupport = true; } ]; time.timeZone = "UTC"; boot.loader.grub.efiSupport = true; }', '[ c.time.timeZone c.boot.loader.grub.efiSupport ]')).toEqual(['UTC', true]);
  });

  it('refuses an option no module declares, and a value of the wrong type, in nixpkgs` words', async () => {
    const typo = evaluate('{ services.desktopManager.gnom.enable = true; }', 'c.networking');
    await expect(typo).rejects.toThrow(/The option `services\.desktopManager\.gnom' does not exist\. Definition values:\s+- In `[^']*m[a-z0-9]+\.nix': \{"enable":true\}/);
    const inUser = evaluate('{ users.users.alice.isNormalUsr = true; }', 'c.users.users.alice');
    await expect(inUser).rejects.toThrow(/The option `users\.users\.alice\.isNormalUsr' does not exist/);
    const wrongType = evaluate('{ boot.loader.grub.efiSupport = "yes"; }', 'c.boot.loader.grub.efiSupport');
    await expect(wrongType).rejects.toThrow(/A definition for option `boot\.loader\.grub\.efiSupport' is not of type `boolean'/);
    // A module may declare options of its own, as disko's module does.
    expect(await evaluate('{ lib, ... }: { imports = [ { options.disko.rootMountPoint = lib.mkOption { type = lib.types.str; default = "/mnt"; }; } ]; }', 'c.disko')).toEqual({ rootMountPoint: '/mnt' });
  });

  it('lets a value read another option lazily, as generated hardware configurations do', async () => {
    const value = await evaluate(
      `{ config, lib, modulesPath, ... }: {
        imports = [ (modulesPath + "/installer/scan/not-detected.nix") ];
        hardware.cpu.intel.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;
      }`,
      '{ inherit (c.hardware) enableRedistributableFirmware; intel = c.hardware.cpu.intel; }',
    );
    expect(value).toEqual({ intel: { updateMicrocode: true }, enableRedistributableFirmware: true });
  });
});

// Writes configuration folders for the stand-in NixOS expression.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// openssl passwd -6 -salt Pw8sALTy 'correct horse'
export const PASSWORD_HASH = '$6$Pw8sALTy$ns/JQrbuttnLAS36jXxpRgsFSimM1dfRGFw/qt67vVkp8q7E3TL12w6gmyuJPjSGUbTVITtLrkPm/oGCycwfJ/';

export interface ConfigSpec {
  hostName?: string;
  payloads?: Record<string, number>;
  bootloaderFails?: boolean;
  // The activation script exits 1 (nixos-enter runs it with `|| true`).
  activationFails?: boolean;
  users?: string[];
  // Desktop options to enable, e.g. "services.desktopManager.plasma6.enable"; default GNOME's.
  desktopOptions?: string[];
  // Fixed-output downloads in the system's closure.
  downloads?: { name: string; url: string; sha256: string }[];
  // Incompressible payloads (name = bytes), and a build that prints this many lines.
  randomPayloads?: Record<string, number>;
  noise?: { lines: number; nonce: string };
  // Boot loader lines, replacing the default GRUB that fits either firmware.
  bootLoader?: string;
  // Replaces configuration.nix entirely (e.g. a syntax error).
  raw?: string;
  // Part of a flake: the stand-in has no <nixos-config>, so the module names its folder.
  inFlake?: boolean;
  // More lines for configuration.nix, e.g. 'time.timeZone = "UTC";'.
  extra?: string;
}

export function configurationNix(spec: ConfigSpec = {}): string {
  const payloads = Object.entries(spec.payloads ?? { kernel: 3_000_000, firmware: 1_000_000, locale: 40_000 })
    .map(([name, size]) => `${name} = ${size};`)
    .join(' ');
  const users = (spec.users ?? ['alice']).map((u) => `users.users.${u}.isNormalUser = true;`).join('\n  ');
  const desktops = (spec.desktopOptions ?? ['services.xserver.desktopManager.gnome.enable']).map((o) => `${o} = true;`).join('\n  ');
  const downloads = (spec.downloads ?? []).map((d) => `{ name = "${d.name}"; url = "${d.url}"; sha256 = "${d.sha256}"; }`).join(' ');
  return `{ config, pkgs, lib, ... }:
{
  imports = [ ./hardware-configuration.nix ];
  networking.hostName = "${spec.hostName ?? 'test'}";${spec.inFlake ? '\n  test.configFolder = ./.;' : ''}
  ${users}
  ${desktops}
  test.payloads = { ${payloads} };
  test.downloads = [ ${downloads} ];
  test.randomPayloads = { ${Object.entries(spec.randomPayloads ?? {}).map(([name, size]) => `${name} = ${size};`).join(' ')} };
  ${spec.noise ? `test.noise = { lines = ${spec.noise.lines}; nonce = "${spec.noise.nonce}"; };` : ''}
  test.bootloaderFails = ${spec.bootloaderFails ? 'true' : 'false'};${spec.activationFails ? '\n  test.activationFails = true;' : ''}
  ${spec.bootLoader ?? '# GRUB for either firmware (BIOS: the device; UEFI: efiSupport).\n  boot.loader.grub.device = "/dev/vda";\n  boot.loader.grub.efiSupport = true;'}
  ${spec.extra ?? ''}
  system.stateVersion = "24.11";
}
`;
}

export async function writeConfig(dir: string, spec: ConfigSpec = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'configuration.nix'), spec.raw ?? configurationNix(spec));
  await writeFile(join(dir, 'hardware-configuration.nix'), '# template\n{ ... }: { }\n');
  return dir;
}

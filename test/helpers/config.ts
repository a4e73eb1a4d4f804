// Writes configuration folders for the stand-in NixOS expression.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ConfigSpec {
  hostName?: string;
  payloads?: Record<string, number>;
  bootloaderFails?: boolean;
  users?: string[];
  // Replaces configuration.nix entirely (e.g. a syntax error).
  raw?: string;
}

export function configurationNix(spec: ConfigSpec = {}): string {
  const payloads = Object.entries(spec.payloads ?? { kernel: 3_000_000, firmware: 1_000_000, locale: 40_000 })
    .map(([name, size]) => `${name} = ${size};`)
    .join(' ');
  const users = (spec.users ?? ['alice']).map((u) => `users.users.${u}.isNormalUser = true;`).join('\n  ');
  return `{ config, pkgs, lib, ... }:
{
  imports = [ ./hardware-configuration.nix ];
  networking.hostName = "${spec.hostName ?? 'test'}";
  ${users}
  services.xserver.desktopManager.gnome.enable = true;
  test.payloads = { ${payloads} };
  test.bootloaderFails = ${spec.bootloaderFails ? 'true' : 'false'};
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

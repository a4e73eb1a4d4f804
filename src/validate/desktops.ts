// Calamares' desktop ids and the NixOS options that enable each, in both the
// places nixpkgs has had them. One table (nix/desktops.json) serves this code
// and nix/config-facts.nix.
import { readFileSync } from 'node:fs';

const table = JSON.parse(readFileSync(new URL('../../nix/desktops.json', import.meta.url), 'utf8')) as Record<string, string[]>;

export const DESKTOP_OPTIONS: Readonly<Record<string, readonly string[]>> = table;

// Calamares' id for "no desktop" is the empty string; "none" is accepted too.
export function isNoDesktop(id: string): boolean {
  return id === '' || id === 'none';
}

export function isKnownDesktop(id: string): boolean {
  return isNoDesktop(id) || Object.hasOwn(table, id);
}

// What the installer knows of a configuration before installing it, as the
// validation result and the status carry it (from the ISO's manifest or from
// evaluating the folder: nix/config-facts.nix).
import type { ChoiceSetting } from './vocabularies.js';

export interface ConfigFacts {
  // Where the facts come from: the ISO's manifest, or evaluating the folder.
  origin: 'manifest' | 'evaluation';
  users: string[];
  desktops: string[];
  drvPath: string | null;
  toplevel: string | null;
  // The system's closure size in bytes (the ISO manifest's closureBytes), when known before building.
  closureBytes: number | null;
  // From evaluation only (the manifest describes the configuration as shipped).
  mutableUsers?: boolean;
  usersWithoutPassword?: string[];
  bootLoader?: { systemdBoot: boolean; grub: boolean; grubEfi: boolean; grubDevices: string[] };
  // The final values of the settings the installer's choices set as defaults.
  settings?: Partial<Record<ChoiceSetting, string | null>>;
  // The settings the configuration sets itself (above mkDefault): choices of them cannot apply.
  fixedSettings?: ChoiceSetting[];
  // Set when the folder is a flake.
  flake?: FlakeFacts;
  // Set when the configuration describes its disks with disko (null: it does not).
  disko?: DiskoFacts | null;
}

// What a configuration that uses disko gives the installer (nix/config-facts.nix).
export interface DiskoFacts {
  // The prebuilt scripts: partition and format, then mount (disko's formatScript, mountScript).
  formatScript: string;
  mountScript: string;
  // Where mountScript mounts the new system (disko.rootMountPoint).
  rootMountPoint: string;
  // disko.devices.disk.<name>.device, as written into the scripts.
  disks: Record<string, string>;
  // The scripts' derivations, when the facts come from evaluating the folder (to build them).
  drvPaths?: string[];
}

export interface FlakeInput {
  // "nixpkgs", or "home-manager/nixpkgs" for an input's own input.
  name: string;
  // The locked reference, e.g. github:NixOS/nixpkgs/<rev>.
  reference: string;
  narHash: string | null;
  storePath: string | null;
}

export interface FlakeFacts {
  // The nixosConfigurations entry that is checked and installed.
  configuration: string;
  configurations: string[];
  inputs: FlakeInput[];
}

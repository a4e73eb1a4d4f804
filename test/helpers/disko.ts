// A stand-in for what disko gives a configuration, as the stand-in NixOS
// expression takes it (nixpkgs and disko cannot be evaluated here): disko's
// options, and its formatScript and mountScript as derivations of bash scripts
// that do, per disko's source (lib/types/gpt.nix, filesystem.nix, swap.nix),
// what disko writes for a small GPT layout on DEVICE (a BIOS boot partition,
// swap, ext4 root, partitions disk-main-*), mounted under rootMountPoint.
// Used by the unattended and the fleet disko tests.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GPT_TYPES } from '../../src/disk/layout.js';
import { FIXTURE_CFG } from './env.js';
import { copyFixture } from './tree.js';

// disko's format script for the layout, as lib/types/gpt.nix, swap.nix and filesystem.nix write it (set -efux; a step is skipped when already done).
export function formatScript(device: string): string {
  return `#!/bin/bash
set -efux
# Stand-in for disko's formatScript (disko.devices.disk.main.device = ${device}).
disko_devices_dir=$(mktemp -d)
trap 'rm -rf "$disko_devices_dir"' EXIT
# gpt.nix: sgdisk --clear when blkid finds nothing on the disk, then sgdisk --new, --change-name and
# --typecode per partition (EF02, 8200, 8300); the installer erased the disk before, so it is blank here.
blkid "${device}" >&2 || true
sfdisk "${device}" <<'TABLE'
label: gpt
size=1MiB, type=${GPT_TYPES['bios-boot']}, name="disk-main-boot"
size=64MiB, type=${GPT_TYPES.swap}, name="disk-main-swap"
type=${GPT_TYPES.root}, name="disk-main-root"
TABLE
# disko: partprobe, udevadm trigger --subsystem-match=block, udevadm settle (no udev here: partx,
# then waiting for devtmpfs to make the nodes, as settle would).
partx --update "${device}"
for _ in $(seq 50); do [ -e "${device}p3" ] && break; sleep 0.1; done
# swap.nix
if ! blkid "${device}p2" -o export | grep -q '^TYPE='; then
  mkswap "${device}p2"
fi
# filesystem.nix
if ! (blkid "${device}p3" | grep -q 'TYPE='); then
  mkfs.ext4 -q "${device}p3"
fi
`;
}

export function mountScript(device: string, root: string): string {
  return `#!/bin/bash
set -efux
# Stand-in for disko's mountScript: swap.nix, then filesystem.nix for mountpoint "/".
if test "\${DISKO_SKIP_SWAP:-}" != 1 && ! swapon --show | grep -q "^$(readlink -f "${device}p2") "; then
  swapon --options=defaults "${device}p2"
fi
if ! findmnt "${device}p3" "${root}/" >/dev/null 2>&1; then
  mount "${device}p3" "${root}/" -t "ext4" -o defaults -o X-mount.mkdir
fi
`;
}

// The configuration in FOLDER: the fixture plus a module with disko's options and the two scripts as derivations,
// disko.devices.disk.main.device DEVICE, disko.rootMountPoint ROOT; EXTRA goes into its config.
export async function writeDiskoConfig(folder: string, device: string, root: string, extra = ''): Promise<string> {
  await copyFixture(FIXTURE_CFG, folder);
  const configuration = join(folder, 'configuration.nix');
  // GRUB goes onto disko's disk, as disko's module sets boot.loader.grub.devices to the disks with a BIOS boot partition.
  await writeFile(configuration, (await readFile(configuration, 'utf8')).replace('./modules/users.nix ]', './modules/users.nix ./disko.nix ]').replace('boot.loader.grub.device = "/dev/vda";', `boot.loader.grub.device = "${device}";`));
  await writeFile(join(folder, 'disko-format.sh'), formatScript(device));
  await writeFile(join(folder, 'disko-mount.sh'), mountScript(device, root));
  await writeFile(
    join(folder, 'disko.nix'),
    `# What disko's module gives a configuration, as the stand-in NixOS expression takes it.
{ lib, ... }:
let
  script = name: file: derivation {
    inherit name;
    system = builtins.currentSystem;
    builder = "/bin/sh";
    args = [ "-c" "printf '%s' \\"$text\\" > $out && chmod 555 $out" ];
    text = builtins.readFile file;
    PATH = "/usr/bin:/bin";
  };
in
{
  # disko's own module declares these (module.nix: rootMountPoint a str, devices its own types).
  options.disko.rootMountPoint = lib.mkOption { type = lib.types.str; };
  options.disko.devices = lib.mkOption { type = lib.types.anything; };
  config = {
    disko.rootMountPoint = "${root}";
    disko.devices.disk.main = { type = "disk"; device = "${device}"; };
    system.build.formatScript = script "disko-format" ./disko-format.sh;
    system.build.mountScript = script "disko-mount" ./disko-mount.sh;
    ${extra}
  };
}
`,
  );
  return folder;
}

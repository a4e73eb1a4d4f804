// What the seed hands out to boot a target: iPXE binaries over TFTP, then the
// installer's netboot kernel and initrd over HTTP. Fixed names in folders given
// by root; nothing a client sends chooses a file.
import { chmod, copyFile, lstat, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { INSTALLER_DEFAULTS } from '../protocol/installer-defaults.js';
import { FleetError } from './fleet-error.js';

// Where the ISO carries them (nix/netboot.nix, nix/installer-defaults.json); --ipxe and --netboot name others.
export const DEFAULT_IPXE_DIR = INSTALLER_DEFAULTS.fleet.ipxeDir;
export const DEFAULT_NETBOOT_DIR = INSTALLER_DEFAULTS.fleet.netbootDir;
// nixpkgs' ipxe package: the BIOS PXE chain loader and the x86_64 UEFI binary.
export const IPXE_BIOS = 'undionly.kpxe';
export const IPXE_EFI = 'ipxe.efi';
// nixpkgs' netboot build: the kernel, the initrd, and the kernel's own parameters (init=/nix/store/...).
export const KERNEL = 'bzImage';
export const INITRD = 'initrd';
export const KERNEL_PARAMS = 'kernel-params';
const MAX_PARAMS_CHARS = 4096;

export interface BootFiles {
  ipxeDir: string;
  netbootDir: string;
  kernel: string;
  initrd: string;
  kernelParams: string;
}

async function regularFile(dir: string, name: string, field: string, what: string): Promise<string> {
  const path = join(dir, name);
  const info = await lstat(path).catch(() => null);
  if (!info?.isFile()) throw new FleetError(field, `${path} is missing`, `--${field} must name a folder holding ${what} (${name}, a regular file).`);
  return path;
}

export async function findBootFiles(ipxeDir: string, netbootDir: string): Promise<BootFiles> {
  await regularFile(ipxeDir, IPXE_BIOS, 'ipxe', 'the iPXE binary for BIOS machines');
  await regularFile(ipxeDir, IPXE_EFI, 'ipxe', 'the iPXE binary for UEFI machines');
  const kernel = await regularFile(netbootDir, KERNEL, 'netboot', "the installer's netboot kernel");
  const initrd = await regularFile(netbootDir, INITRD, 'netboot', "the installer's netboot initrd");
  const paramsFile = await regularFile(netbootDir, KERNEL_PARAMS, 'netboot', "the netboot system's kernel parameters");
  const kernelParams = (await readFile(paramsFile, 'utf8')).trim();
  if (kernelParams.length > MAX_PARAMS_CHARS || /[\u0000-\u001f\u007f]/.test(kernelParams)) {
    throw new FleetError('netboot', `${paramsFile} is not one line of kernel parameters`, `It must hold the netboot system's kernel parameters on one line (at most ${MAX_PARAMS_CHARS} characters), e.g. init=/nix/store/...-nixos-system-.../init loglevel=4.`);
  }
  return { ipxeDir, netbootDir, kernel, initrd, kernelParams };
}

// TFTP serves copies in the fleet's own folder (root's, world-readable): dnsmasq, no longer root once
// started, reads them there whoever owns --ipxe and however its parents are locked.
export async function copyIpxe(files: BootFiles, tftpDir: string): Promise<string> {
  await mkdir(tftpDir, { mode: 0o755 });
  for (const name of [IPXE_BIOS, IPXE_EFI]) {
    await copyFile(join(files.ipxeDir, name), join(tftpDir, name));
    await chmod(join(tftpDir, name), 0o444);
  }
  return tftpDir;
}

// The iPXE script every target gets: the kernel and initrd from the seed, and where the fleet is.
export function netbootScript(files: BootFiles, fleetUrl: string, secret: string): string {
  const { urlParam, secretParam } = INSTALLER_DEFAULTS.fleet;
  const params = [files.kernelParams, `${urlParam}=${fleetUrl}`, `${secretParam}=${secret}`].filter(Boolean).join(' ');
  return ['#!ipxe', `kernel ${fleetUrl}/${KERNEL} initrd=${INITRD} ${params}`, `initrd ${fleetUrl}/${INITRD}`, 'boot', ''].join('\n');
}

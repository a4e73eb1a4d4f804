// Unattended installs of a configuration that lays out its disks with disko,
// on real loop disks, by the real daemon (network namespace with no
// interfaces, real Nix) and CLI. nixpkgs and disko cannot be evaluated here,
// so a Nix derivation the test builds stands in for disko's generated
// formatScript and mountScript: bash scripts that do, per disko's source
// (lib/types/gpt.nix, filesystem.nix, swap.nix), what disko writes for a small
// GPT layout (a BIOS boot partition, swap, ext4 root, partition names
// disk-main-*, mkfs/mkswap unless blkid finds a file system, mounts under
// disko.rootMountPoint with X-mount.mkdir), with the test's loop device
// written in as disko writes disko.devices.disk.<name>.device. Two honest
// differences: disko calls sgdisk (gptfdisk), not on the test beds, where the
// stand-in writes the same table with sfdisk; and disko names partitions by
// /dev/disk/by-partlabel (udev's links, which its script waits for with
// udevadm settle), while here, with no udev, the stand-in runs partx and
// names the loop device's partitions by number.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GPT_TYPES } from '../../src/disk/layout.js';
import { runCli, resultOf, startCli, type CliRun } from '../helpers/cli.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { bindMount, FIXTURE_CFG, NIX_CONFIG, NIXOS_EXPR, REPO, scratch } from '../helpers/env.js';
import { activeUses, attachDisk, blkid, endDiskTest, partitionTable, run, sha256, withReadOnly, writeOldSystem, type LoopDisk } from '../helpers/loop-disk.js';
import { copyFixture } from '../helpers/tree.js';
import { writeDiskoConfig } from '../helpers/disko.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const nixEnv = { ...process.env, NIX_CONFIG };

let dir: string;
let daemon: RunningDaemon | null = null;

beforeEach(async () => {
  dir = await scratch('disko');
});
afterEach(async () => {
  const running = daemon;
  daemon = null;
  await endDiskTest(dir, running);
});

// The stand-in configuration (test/helpers/disko.ts), in this test's folder unless FOLDER says otherwise.
const diskoConfig = (device: string, root: string, folder = join(dir, 'nix-cfg'), extra = '') => writeDiskoConfig(folder, device, root, extra);

// What the ISO build does: the manifest with the disko entry, and the scripts built into the store.
async function isoManifest(source: string): Promise<{ path: string; data: any }> {
  const nixPath = ['-I', `nixos-config=${source}/configuration.nix`];
  const data = JSON.parse(execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', `import ${REPO}/nix/manifest-data.nix { evaluated = import ${NIXOS_EXPR} { }; configDir = "${source}"; }`, ...nixPath], { env: nixEnv, encoding: 'utf8' }));
  execFileSync('nix-build', [NIXOS_EXPR, '--no-out-link', '-A', 'config.system.build.formatScript', '-A', 'config.system.build.mountScript', ...nixPath], { env: nixEnv, stdio: 'ignore' });
  const path = join(dir, 'manifest.json');
  await writeFile(path, JSON.stringify({ ...data, closureBytes: 20 * MiB }));
  return { path, data };
}

async function answers(source: string, value: unknown): Promise<string> {
  const file = join(source, 'install.json');
  await writeFile(file, JSON.stringify(value));
  return file;
}

async function install(source: string, file: string, manifest?: string): Promise<CliRun> {
  daemon ??= await startDaemon({ dir, configDirs: [source], ...(manifest && { extraArgs: ['--manifest', manifest] }) });
  return runCli(['install', '--socket', daemon.socket, '--answers', file, '--json']);
}

const phasesOf = (r: CliRun) => r.events.filter((e) => e.type === 'phase').map((e) => e.data.phase);
const logOf = (r: CliRun) => r.events.filter((e) => e.type === 'log').flatMap((e) => e.data.lines as string[]);
const mountsUnder = (root: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((p) => p !== undefined && (p === root || p.startsWith(`${root}/`)));

function expectInstalledLayout(disk: LoopDisk): string {
  const table = partitionTable(disk.device);
  expect(table.label).toBe('gpt');
  expect(table.partitions.map((p) => [p.type, p.name])).toEqual([
    [GPT_TYPES['bios-boot'], 'disk-main-boot'],
    [GPT_TYPES.swap, 'disk-main-swap'],
    [GPT_TYPES.root, 'disk-main-root'],
  ]);
  expect(blkid(table.partitions[1]!.node)).toMatchObject({ TYPE: 'swap' });
  expect(blkid(table.partitions[2]!.node)).toMatchObject({ TYPE: 'ext4' });
  return table.partitions[2]!.node;
}

async function expectOnDisk(rootNode: string, r: CliRun): Promise<void> {
  await withReadOnly(rootNode, dir, 'check', async (root) => {
    expect(await readFile(join(root, 'etc/nixos/disko.nix'), 'utf8')).toContain('disko.devices.disk.main');
    const hardware = await readFile(join(root, 'etc/nixos/hardware-configuration.nix'), 'utf8');
    // Probed with --no-filesystems: disko's module declares the file systems.
    expect(hardware).toContain('generated by ‘nixos-generate-config’');
    expect(hardware).not.toContain('fileSystems."/"');
    const log = await readFile(join(root, 'var/log/nixos-offline-installer/install.log'), 'utf8');
    const lines = log.trim().split('\n').map((l) => JSON.parse(l));
    // The scripts' own trace (set -x), line by line, under "disko".
    expect(lines.some((l) => l.source === 'disko' && /^\+ mkfs\.ext4 -q \/dev\/loop\d+p3$/.test(l.msg))).toBe(true);
    expect(lines.some((l) => l.source === 'disko' && /^\+ mount \/dev\/loop\d+p3 /.test(l.msg))).toBe(true);
    expect(lines.some((l) => l.source === 'nixos-install' && l.msg === 'installation finished!')).toBe(true);
    expect(await readlink(join(root, 'nix/var/nix/profiles/system-1-link'))).toBe(resultOf(r).toplevel);
  });
}

describe('a configuration with a disko layout', () => {
  it("the ISO's: its prebuilt scripts partition, format and mount the disk; the install lands there and everything is released", async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const root = join(dir, 'mnt');
    const source = await diskoConfig(disk.device, root);
    const { path: manifest, data } = await isoManifest(source);
    expect(data.disko).toEqual({ formatScript: expect.stringMatching(/^\/nix\/store\/[a-z0-9]{32}-disko-format$/), mountScript: expect.stringMatching(/^\/nix\/store\/[a-z0-9]{32}-disko-mount$/), rootMountPoint: root, disks: { main: disk.device } });
    const file = await answers(source, { disk: disk.device, user: 'alice' });

    const r = await install(source, file, manifest);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(resultOf(r)).toMatchObject({ ok: true, targetLogPath: '/var/log/nixos-offline-installer/install.log' });
    expect(phasesOf(r)).toEqual(['hardware', 'validate', 'partition', 'format', 'mount', 'stage', 'build', 'copy', 'install', 'report']);
    const log = logOf(r);
    expect(log).toContain(`the configuration lays out its disks with disko: disko.devices.disk.main is ${disk.device}, mounted at ${root}`);
    expect(log.some((l) => l.startsWith(`disko mounted the target at ${root}: ${root}; swap on ${disk.device}p2`))).toBe(true);
    // Nothing built before the disk was touched: the manifest had the closure's size and the scripts.
    expect(log.some((l) => /building its format and mount scripts|before touching the disk/.test(l))).toBe(false);

    const rootNode = expectInstalledLayout(disk);
    expect(activeUses(disk.device)).toEqual({ mounts: [], swaps: [] });
    expect(mountsUnder(root)).toEqual([]);
    // The installer made the mount point, so it removed it too.
    expect(existsSync(root)).toBe(false);
    await expectOnDisk(rootNode, r);
  });

  it('a folder the ISO did not ship: its disko scripts are built from the live store, offline, before the disk is touched', async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    writeOldSystem(disk.device);
    const root = join(dir, 'mnt');
    const source = await diskoConfig(disk.device, root);
    const file = await answers(source, { disk: disk.device, user: 'alice', wipe: true });
    const r = await install(source, file);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const log = logOf(r);
    expect(log).toContain(`the configuration lays out its disks with disko (disko.devices.disk.main is ${disk.device}); building its format and mount scripts in the live store`);
    // The old file system went first, as disko's destroy step does it, so the format script made a new one.
    expect(log.some((l) => l === `erasing the signatures on ${disk.device}p1 ("wipe": true), as disko's destroy step does`)).toBe(true);
    const rootNode = expectInstalledLayout(disk);
    // The new BIOS boot partition starts where the old ext4 did: had its superblock stayed, disko would have kept it.
    expect(run('wipefs', ['--no-act', `${disk.device}p1`]).trim()).toBe('');
    expect(activeUses(disk.device)).toEqual({ mounts: [], swaps: [] });
    await expectOnDisk(rootNode, r);
  });
});

describe('refusals: the disk untouched', () => {
  it('a disk that is not the disko disk is refused, naming both and how to fix it', async () => {
    const diskoDisk = await attachDisk(dir, 'disko-disk', 3 * GiB);
    const other = await attachDisk(dir, 'other', 3 * GiB);
    writeOldSystem(other.device);
    const hashes = [await sha256(diskoDisk.image), await sha256(other.image)];
    const source = await diskoConfig(diskoDisk.device, join(dir, 'mnt'));
    const { path: manifest } = await isoManifest(source);
    const file = await answers(source, { disk: other.device, wipe: true });
    const r = await install(source, file, manifest);
    expect(r.code).toBe(1);
    const { error } = resultOf(r);
    expect(error).toMatchObject({ code: 'answers-invalid', field: 'disk', title: `${other.device} is not the disko disk ${diskoDisk.device}` });
    expect(error.description).toContain(`disko.devices.disk.main.device is ${diskoDisk.device}`);
    expect(error.description).toContain('set disko.devices.disk.<name>.device in the configuration');
    expect(error.description).toContain('name that device in "disk"');
    expect(phasesOf(r)).toEqual([]);
    expect([await sha256(diskoDisk.image), await sha256(other.image)]).toEqual(hashes);
  });

  it('a "layout" with a disko configuration is refused: the layout comes from disko', async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    writeOldSystem(disk.device);
    const hash = await sha256(disk.image);
    const source = await diskoConfig(disk.device, join(dir, 'mnt'));
    const { path: manifest } = await isoManifest(source);
    const file = await answers(source, { disk: disk.device, layout: 'bios-ext4', wipe: true });
    const r = await install(source, file, manifest);
    expect(r.code).toBe(1);
    const { error } = resultOf(r);
    expect(error).toMatchObject({ code: 'answers-invalid', field: 'layout', title: `${file}: "layout" is not used: the layout comes from disko` });
    expect(error.description).toContain(`Remove "layout" from ${file}`);
    expect(await sha256(disk.image)).toBe(hash);
  });

  it('the same, for a folder the ISO did not ship (known once it is evaluated), and no "layout" without disko', async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const hash = await sha256(disk.image);
    const source = await diskoConfig(disk.device, join(dir, 'mnt'));
    const withLayout = await answers(source, { disk: disk.device, layout: 'bios-ext4' });
    const refused = await install(source, withLayout);
    expect(resultOf(refused).error).toMatchObject({ field: 'layout', title: `${withLayout}: "layout" is not used: the layout comes from disko` });
    expect(phasesOf(refused)).toEqual(['hardware', 'validate']);

    const plain = join(dir, 'plain');
    await copyFixture(FIXTURE_CFG, plain);
    const noLayout = await answers(plain, { disk: disk.device });
    await daemon!.stop();
    daemon = null;
    const missing = await install(plain, noLayout);
    expect(resultOf(missing).error).toMatchObject({ code: 'answers-invalid', field: 'layout', title: `${noLayout}: "layout" is missing` });
    expect(resultOf(missing).error.description).toContain('does not describe its disks with disko');
    expect(await sha256(disk.image)).toBe(hash);
  });

  it('a rootMountPoint where something is mounted, or in the live system, is refused before the disk is touched', async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const hash = await sha256(disk.image);
    const busy = join(dir, 'busy');
    await mkdir(join(busy, 'boot'), { recursive: true });
    bindMount(join(busy, 'boot'));
    const source = await diskoConfig(disk.device, busy);
    const { path: manifest } = await isoManifest(source);
    const r = await install(source, await answers(source, { disk: disk.device }), manifest);
    expect(resultOf(r).error).toMatchObject({ field: 'disk', title: `disko's rootMountPoint ${busy} cannot be used` });
    expect(resultOf(r).error.description).toContain(`${busy}/boot is mounted`);
    expect(phasesOf(r)).toEqual(['hardware', 'validate']);

    const live = await diskoConfig(disk.device, '/var/lib/target', join(dir, 'live-cfg'));
    await daemon!.stop();
    daemon = null;
    const refused = await install(live, await answers(live, { disk: disk.device }));
    expect(resultOf(refused).error).toMatchObject({ field: 'disk', title: "disko's rootMountPoint /var/lib/target cannot be used" });
    expect(existsSync('/var/lib/target')).toBe(false);
    expect(await sha256(disk.image)).toBe(hash);
  });
});

describe('cancel', () => {
  it('a cancel mid-copy leaves nothing of the disko layout mounted or swapped on', async () => {
    const disk = await attachDisk(dir, 'target', 4 * GiB);
    const root = join(dir, 'mnt');
    const source = await diskoConfig(disk.device, root, undefined, 'test.payloads.big = 1000000000;');
    const file = await answers(source, { disk: disk.device, user: 'alice' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const cli = startCli(['install', '--socket', daemon.socket, '--answers', file, '--json']);
    await cli.waitFor((e) => e.type === 'progress' && e.data.phase === 'copy' && e.data.bytesDone > 0, 180_000);
    expect(mountsUnder(root)).toEqual([root]);
    expect(activeUses(disk.device).swaps).toEqual([`${disk.device}p2`]);
    expect((await runCli(['cancel', '--socket', daemon.socket, '--json'])).code).toBe(0);
    const r = await cli.done;
    expect(r.code).toBe(5);
    expect(resultOf(r).state).toBe('cancelled');
    expect(activeUses(disk.device)).toEqual({ mounts: [], swaps: [] });
    expect(mountsUnder(root)).toEqual([]);
    expect(await readdir(dir)).not.toContain('mnt');
  });
});

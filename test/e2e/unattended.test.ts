// Unattended installs end to end, on real disks: a sparse image attached with
// losetup, partitioned (sfdisk), formatted (mkfs.ext4, mkfs.vfat, mkswap) and
// mounted by the real daemon (in a network namespace with no interfaces, real
// Nix), driven by the real CLI with an answer file. Read back afterwards with
// sfdisk --json, blkid and a read-only mount. Loop devices are detached after
// every test, passed or failed. Cases this kernel cannot run (no vfat, no
// device-mapper here) are skipped with the reason in their name, and the
// refusal that replaces them is tested instead.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { access, mkdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { luksFormatArgs, luksOpenArgs } from '../../src/disk/luks.js';
import { formatPartitions } from '../../src/disk/format.js';
import { planPartitions, GPT_TYPES } from '../../src/disk/layout.js';
import { partitionDisk } from '../../src/disk/partition.js';
import type { JobContext } from '../../src/common/context.js';
import { runCli, resultOf, startCli, type CliRun } from '../helpers/cli.js';
import { PASSWORD_HASH, writeConfig } from '../helpers/config.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { FIXTURE_CFG, STAND_INS, scratch } from '../helpers/env.js';
import { activeUses, attachDisk, blkid, canRun, isBlank, NO_DM, endDiskTest, partitionTable, run, sha256, withReadOnly, writeOldSystem, type LoopDisk } from '../helpers/loop-disk.js';
import { copyFixture, readTree } from '../helpers/tree.js';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const kernelHas = (fs: string) => readFileSync('/proc/filesystems', 'utf8').split('\n').some((l) => l.split('\t').at(-1) === fs) || canRun('modprobe', ['--dry-run', '--quiet', fs]);
const NO_VFAT = kernelHas('vfat') ? null : 'this kernel cannot mount vfat';
const NO_CRYPTSETUP = canRun('cryptsetup', ['--version']) ? null : 'cryptsetup is not installed on this machine';

let dir: string;
let daemon: RunningDaemon | null = null;

beforeEach(async () => {
  dir = await scratch('unattended');
});
afterEach(async () => {
  const running = daemon;
  daemon = null;
  await endDiskTest(dir, running);
});

// GRUB: the fixture's own boot.loader.grub.device ("/dev/vda", for attended installs) is left out
// unless GRUB says otherwise: the answer file's layout decides where GRUB goes.
async function configWithAnswers(answers: unknown, folder = join(dir, 'nix-cfg'), grub = ''): Promise<{ source: string; file: string }> {
  await copyFixture(FIXTURE_CFG, folder);
  const configuration = join(folder, 'configuration.nix');
  await writeFile(configuration, (await readFile(configuration, 'utf8')).replace('boot.loader.grub.device = "/dev/vda";', grub));
  const file = join(folder, 'install.json');
  await writeFile(file, typeof answers === 'string' ? answers : `${JSON.stringify(answers, null, 2)}\n`);
  return { source: folder, file };
}

async function installWith(file: string, configDirs: string[], env?: Record<string, string>): Promise<CliRun> {
  daemon ??= await startDaemon({ dir, configDirs, ...(env && { env }) });
  return runCli(['install', '--socket', daemon.socket, '--answers', file, '--json']);
}

// systemctl would power off the test machine: a recorder stands in for it, on the daemon's PATH only.
async function systemctlRecorder(): Promise<{ bin: string; record: string }> {
  const bin = join(dir, 'bin');
  await mkdir(bin);
  const record = join(dir, 'systemctl.args');
  await writeFile(join(bin, 'systemctl'), `#!/bin/sh\necho "$@" >> '${record}'\n`, { mode: 0o755 });
  return { bin, record };
}

const phasesOf = (r: CliRun) => r.events.filter((e) => e.type === 'phase').map((e) => e.data.phase);
const logOf = (r: CliRun) => r.events.filter((e) => e.type === 'log').flatMap((e) => e.data.lines as string[]);
// The private mount point the daemon used, from its log.
const mountPointOf = (r: CliRun) => logOf(r).map((l) => /^mounted the target at (\S+)/.exec(l)?.[1]).find(Boolean);

function expectReleased(disk: LoopDisk, r: CliRun): void {
  expect(activeUses(disk.device)).toEqual({ mounts: [], swaps: [] });
  const mountPoint = mountPointOf(r);
  if (mountPoint) expect(existsSync(mountPoint)).toBe(false);
}

describe('an unattended install onto a blank disk', () => {
  it('as text: the log named is the live copy, and where it is on the installed (now unmounted) disk', async () => {
    const disk = await attachDisk(dir, 'text', 3 * GiB);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: 'bios-ext4', user: 'alice', then: 'stay' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const r = await runCli(['install', '--socket', daemon.socket, '--answers', file]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const live = /^ {2}log: {4}(\S+)$/m.exec(r.stdout)?.[1];
    expect(live?.startsWith(`${daemon.logDir}/install-`), r.stdout).toBe(true);
    expect(existsSync(live!)).toBe(true);
    expect(r.stdout).toContain('          (on the installed disk: /var/log/nixos-offline-installer/install.log)');
  });

  it('bios-ext4 with swap: partitions, formats, installs, sets the password, unmounts everything', async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: { type: 'bios-ext4', swap: '64MiB' }, user: 'alice', desktop: 'gnome', passwordHash: PASSWORD_HASH, then: 'stay', hostname: 'bench-12', timezone: 'Europe/Berlin' });
    const before = await readTree(source);

    const r = await installWith(file, [source]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const result = resultOf(r);
    expect(result).toMatchObject({ ok: true, state: 'succeeded', targetLogPath: '/var/log/nixos-offline-installer/install.log', then: { action: 'stay', delaySeconds: 0 } });
    expect(phasesOf(r)).toEqual(['hardware', 'validate', 'partition', 'format', 'mount', 'stage', 'build', 'copy', 'install', 'report']);
    const fractions = r.events.filter((e) => e.type === 'progress').map((e) => e.data.fraction);
    expect(fractions).toEqual([...fractions].sort((a, b) => a - b));
    expect(fractions.at(-1)).toBe(1);

    // The table as the disk holds it.
    const table = partitionTable(disk.device);
    expect(table.label).toBe('gpt');
    expect(table.partitions.map((p) => [p.type, p.name])).toEqual([
      [GPT_TYPES['bios-boot'], 'BIOS boot'],
      [GPT_TYPES.swap, 'swap'],
      [GPT_TYPES.root, 'nixos'],
    ]);
    expect(table.partitions.map((p) => p.size * 512).slice(0, 2)).toEqual([1 * MiB, 64 * MiB]);
    expect(table.partitions[2]!.size * 512).toBeGreaterThan(2.9 * GiB);
    const [, swapNode, rootNode] = table.partitions.map((p) => p.node);
    expect(blkid(swapNode!)).toMatchObject({ TYPE: 'swap', LABEL: 'swap' });
    expect(blkid(rootNode!)).toMatchObject({ TYPE: 'ext4', LABEL: 'nixos' });

    // Nothing of it is mounted or active any more, and the private mount point is gone.
    expect(mountPointOf(r)).toMatch(/^\/run\/nixos-offline-installer-target-/);
    expectReleased(disk, r);

    await withReadOnly(rootNode!, dir, 'check', async (root) => {
      const staged = await readTree(join(root, 'etc/nixos'));
      expect(staged.get('configuration.nix')).toBe(before.get('configuration.nix'));
      expect(staged.get('install.json')).toBe(before.get('install.json'));
      expect(staged.get('hardware-configuration.nix.template')).toBe(before.get('hardware-configuration.nix'));
      expect((await stat(join(root, 'etc/nixos/install.json'))).mode & 0o777).toBe(0o600);
      // GRUB's disk, as Calamares' choice would set it; the probe's file systems, not the planned ones.
      const choices = await readFile(join(root, 'etc/nixos/installer-choices.nix'), 'utf8');
      expect(choices).toContain(`boot.loader.grub.device = lib.mkOverride 999 "${disk.device}";`);
      // The answer file's choices, as Calamares' pages would have given them.
      expect(choices).toContain('networking.hostName = lib.mkOverride 999 "bench-12";');
      expect(choices).toContain('time.timeZone = lib.mkOverride 999 "Europe/Berlin";');
      const hardware = await readFile(join(root, 'etc/nixos/hardware-configuration.nix'), 'utf8');
      expect(hardware).toContain('generated by ‘nixos-generate-config’');
      expect(hardware).toContain('fileSystems."/" =');
      expect(hardware).toContain('./installer-choices.nix');
      expect(hardware).not.toContain('will make');
      expect(await readlink(join(root, 'nix/var/nix/profiles/system'))).toBe('system-1-link');
      expect(await readlink(join(root, 'nix/var/nix/profiles/system-1-link'))).toBe(result.toplevel);
      await access(join(root, result.toplevel.slice(1), 'activate'));
      expect(await readFile(join(root, 'etc/shadow'), 'utf8')).toMatch(new RegExp(`^alice:${PASSWORD_HASH.replace(/\$/g, '\\$')}:\\d+:`, 'm'));
      const log = await readFile(join(root, 'var/log/nixos-offline-installer/install.log'), 'utf8');
      const lines = log.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.some((l) => l.source === 'sfdisk' && /Created a new GPT disklabel/.test(l.msg))).toBe(true);
      expect(lines.some((l) => l.source === 'nixos-install' && l.msg === 'installation finished!')).toBe(true);
      expect(log).not.toContain(PASSWORD_HASH);
    });
    // The hash is in no log: not the live one, not the daemon's journal, not the client's.
    expect(await readFile(result.logPath, 'utf8')).not.toContain(PASSWORD_HASH);
    expect(daemon!.output()).not.toContain(PASSWORD_HASH);
    expect(r.stdout).not.toContain(PASSWORD_HASH);
  });

  it.skipIf(NO_VFAT)(`efi-ext4: the EFI system partition is vfat and mounted at /boot${NO_VFAT ? ` (skipped: ${NO_VFAT})` : ''}`, async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: 'efi-ext4', user: 'alice' });
    const r = await installWith(file, [source]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const table = partitionTable(disk.device);
    expect(table.partitions.map((p) => p.type)).toEqual([GPT_TYPES.esp, GPT_TYPES.root]);
    expect(blkid(table.partitions[0]!.node)).toMatchObject({ TYPE: 'vfat', LABEL: 'BOOT' });
    expectReleased(disk, r);
    await withReadOnly(table.partitions[0]!.node, dir, 'esp', async (esp) => {
      expect(await readFile(join(esp, 'loader/entries/nixos-stand-in.conf'), 'utf8')).toBe(`${resultOf(r).toplevel}\n`);
    });
  });

  it.runIf(NO_VFAT)('efi-ext4 on a kernel without vfat is refused before the disk is touched', async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: 'efi-ext4' });
    const r = await installWith(file, [source]);
    expect(r.code).toBe(1);
    expect(resultOf(r).error).toMatchObject({ code: 'answers-invalid', field: 'layout', title: 'This kernel cannot mount vfat' });
    expect(phasesOf(r)).toEqual(['hardware', 'validate']);
    expect(isBlank(disk)).toBe(true);
  });

  it('efi-ext4 partitioning and file systems, by the disk stages on a real disk', async () => {
    // The layout the full install above cannot mount here; partitioned and formatted for real all the same.
    const disk = await attachDisk(dir, 'target', 2 * GiB);
    const lines: string[] = [];
    const ctx = { installId: 't', root: '', signal: new AbortController().signal, settings: {} as JobContext['settings'], log: (s: string, l: string) => lines.push(`[${s}] ${l}`), output: (s: string, l: string) => lines.push(`[${s}] ${l}`), recentLines: () => [], phase() {}, progress() {} } satisfies JobContext;
    const layout = { type: 'efi-ext4' as const, swapBytes: 32 * MiB, encrypt: null };
    const info = { path: disk.device, name: disk.device.slice(5), device: disk.device, sizeBytes: 2 * GiB, stablePath: disk.device };
    const nodes = await partitionDisk(ctx, info, planPartitions(layout), false);
    const formatted = await formatPartitions(ctx, nodes, layout, []);
    expect(formatted).toMatchObject({ esp: `${disk.device}p1`, swap: `${disk.device}p2`, root: `${disk.device}p3`, partitions: [] });
    const table = partitionTable(disk.device);
    expect(table.partitions.map((p) => [p.type, p.size * 512])).toEqual([
      [GPT_TYPES.esp, GiB],
      [GPT_TYPES.swap, 32 * MiB],
      [GPT_TYPES.root, table.partitions[2]!.size * 512],
    ]);
    expect(blkid(nodes.esp!)).toMatchObject({ TYPE: 'vfat', LABEL: 'BOOT' });
    expect(blkid(nodes.swap!)).toMatchObject({ TYPE: 'swap' });
    expect(blkid(nodes.root!)).toMatchObject({ TYPE: 'ext4', LABEL: 'nixos' });
  });
});

describe('refusals: nothing touches the disk', () => {
  it('a partition in "disk" is refused, naming its disk', async () => {
    const disk = await attachDisk(dir, 'parted', 3 * GiB);
    writeOldSystem(disk.device);
    const { source, file } = await configWithAnswers({ disk: `${disk.device}p1`, layout: 'bios-ext4', user: 'alice' });
    const r = await installWith(file, [source]);
    expect(r.code).toBe(1);
    const { error } = resultOf(r);
    expect(error).toMatchObject({ code: 'answers-invalid', field: 'disk', title: `${disk.device}p1 is a partition, not a disk` });
    expect(error.description).toContain(`Name ${disk.device} (or its /dev/disk/by-id link) instead.`);
  });

  it('a configuration whose GRUB disk is not the answer file`s disk is refused, naming both and the fix', async () => {
    const disk = await attachDisk(dir, 'grub', 3 * GiB);
    const hash = await sha256(disk.image);
    for (const grub of ['boot.loader.grub.device = "/dev/vda";', 'boot.loader.grub.mirroredBoots = [ { path = "/boot"; devices = [ "/dev/vda" ]; } ];']) {
      const { source, file } = await configWithAnswers({ disk: disk.device, layout: 'bios-ext4', user: 'alice' }, join(dir, 'nix-cfg'), grub);
      const r = await installWith(file, [source]);
      expect(r.code, grub).toBe(1);
      const { error, targetLogPath } = resultOf(r);
      expect(error, grub).toMatchObject({ code: 'answers-invalid', field: 'disk', title: `GRUB would be installed on /dev/vda, not on ${disk.device}` });
      expect(error.description).toContain(`names the disk ${disk.device}`);
      expect(error.description).toContain(`the configuration in ${source}`);
      expect(error.description).toContain('leave the option to the layout');
      expect(error.description).toContain(`boot.loader.grub.device = "${disk.device}";`);
      expect(targetLogPath).toBeNull();
      expect(phasesOf(r)).toEqual(['hardware', 'validate']);
      expect(mountPointOf(r)).toBeUndefined();
    }
    expect(await sha256(disk.image)).toBe(hash);
  });

  it('a GRUB disk named through a link to the answer file`s disk (as /dev/disk/by-id/...) is that disk: installed', async () => {
    const disk = await attachDisk(dir, 'grub-link', 3 * GiB);
    const link = join(dir, 'by-id-grub-link');
    await symlink(disk.device, link);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: 'bios-ext4', user: 'alice', then: 'stay' }, join(dir, 'nix-cfg'), `boot.loader.grub.device = "${link}";`);
    const r = await installWith(file, [source]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(resultOf(r).ok).toBe(true);
  });

  it('a disk with partitions and "wipe": false is refused, its bytes unchanged', async () => {
    const disk = await attachDisk(dir, 'old', 3 * GiB);
    writeOldSystem(disk.device);
    const hash = await sha256(disk.image);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: 'bios-ext4', user: 'alice', wipe: false });
    const r = await installWith(file, [source]);
    expect(r.code).toBe(1);
    const { error, targetLogPath } = resultOf(r);
    expect(error).toMatchObject({ code: 'answers-invalid', field: 'wipe' });
    expect(error.title).toBe(`${disk.device} is not empty and "wipe" is not true`);
    expect(error.description).toContain(`${disk.device} holds: gpt`);
    expect(error.description).toContain('"wipe": true');
    expect(targetLogPath).toBeNull();
    expect(phasesOf(r)).toEqual(['hardware', 'validate']);
    expect(mountPointOf(r)).toBeUndefined();
    expect(await sha256(disk.image)).toBe(hash);
    expect(blkid(`${disk.device}p1`)).toMatchObject({ TYPE: 'ext4', LABEL: 'old-data' });
  });

  it.each([
    ['an unknown field', (d: string) => ({ disk: d, layout: 'bios-ext4', swap: '4GiB' }), 'swap', /unknown field "swap"/],
    ['a field of the wrong type', (d: string) => ({ disk: d, layout: 'bios-ext4', wipe: 'yes' }), 'wipe', /"wipe" must be true or false/],
    ['a nested field of the wrong type', (d: string) => ({ disk: d, layout: { type: 'bios-ext4', swap: 8 } }), 'layout.swap', /"layout.swap" must be a size/],
    ['an unknown layout', (d: string) => ({ disk: d, layout: 'zfs' }), 'layout', /unknown layout "zfs"/],
    ['a disk that does not exist', () => ({ disk: '/dev/disk/by-id/ata-NO_SUCH_DISK_123', layout: 'bios-ext4' }), 'disk', /The disk \/dev\/disk\/by-id\/ata-NO_SUCH_DISK_123 does not exist/],
    ['a device that is not a disk', () => ({ disk: '/dev/null', layout: 'bios-ext4' }), 'disk', /\/dev\/null is not a disk/],
    ['a plain password', (d: string) => ({ disk: d, layout: 'bios-ext4', user: 'alice', passwordHash: 'hunter2' }), 'passwordHash', /not a usable password hash/],
    ['a password with no user', (d: string) => ({ disk: d, layout: 'bios-ext4', passwordHash: PASSWORD_HASH }), 'passwordHash', /needs "user"/],
    ['a "then" that is not an action', (d: string) => ({ disk: d, layout: 'bios-ext4', then: 'halt' }), 'then', /"then" must be one of reboot, poweroff, stay/],
    ['a file that is not JSON', () => '{"disk": "/dev/sda",\n  "passwordHash": hunter2 }', '(file)', /is not valid JSON/],
  ])('%s names the field', async (_, answers, field, title) => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const { source, file } = await configWithAnswers(typeof answers === 'function' ? answers(disk.device) : answers);
    const r = await installWith(file, [source]);
    expect(r.code).toBe(1);
    const { error } = resultOf(r);
    expect(error).toMatchObject({ code: 'answers-invalid', field });
    expect(error.title).toMatch(title);
    expect(error.description).not.toContain('hunter2');
    // Refused before the first phase, as a target that does not exist is.
    expect(phasesOf(r)).toEqual([]);
    expect(isBlank(disk)).toBe(true);
  });

  it('a user the configuration does not declare fails the same check as in Calamares', async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: 'bios-ext4', user: 'bob', desktop: 'gnome' });
    const r = await installWith(file, [source]);
    expect(resultOf(r).error).toMatchObject({ code: 'user-not-declared', title: 'User "bob" is not in the configuration' });
    expect(isBlank(disk)).toBe(true);
  });

  it('the live medium (the disk the configuration is read from) is refused', async () => {
    const medium = await attachDisk(dir, 'medium', 256 * MiB);
    run('mkfs.ext4', ['-F', '-q', medium.device]);
    const where = join(dir, 'medium');
    await mkdir(where);
    run('mount', [medium.device, where]);
    const { source, file } = await configWithAnswers({ disk: medium.device, layout: 'bios-ext4', wipe: true }, join(where, 'nix-cfg'));
    const r = await installWith(file, [source]);
    expect(r.code).toBe(1);
    const { error } = resultOf(r);
    expect(error).toMatchObject({ code: 'answers-invalid', field: 'disk', title: `${medium.device} is the live medium` });
    expect(error.description).toContain(`${medium.device} holds ${source}`);
    expect(activeUses(medium.device).mounts).toEqual([where]);
  });

  it('a disk too small for the system is refused before partitioning, with both sizes', async () => {
    const disk = await attachDisk(dir, 'small', 1.5 * GiB);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: { type: 'bios-ext4', swap: '1GiB' }, wipe: true });
    const r = await installWith(file, [source]);
    expect(r.code).toBe(1);
    const { error } = resultOf(r);
    expect(error).toMatchObject({ code: 'answers-invalid', field: 'disk' });
    const sizes = /has 1\.5 GiB \((\d+) bytes\); this install needs at least [\d.]+ GiB \((\d+) bytes\): the system's closure/.exec(error.description);
    expect(sizes, error.description).not.toBeNull();
    expect(Number(sizes![1])).toBe(1.5 * GiB);
    expect(Number(sizes![2])).toBeGreaterThan(2 * GiB);
    expect(error.title).toMatch(/too small: 1\.5 GiB, needs 2\.\d GiB/);
    expect(isBlank(disk)).toBe(true);
  });
  it("the ISO manifest's closure size counts, without building anything", async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: 'bios-ext4', user: 'alice' });
    const manifest = join(dir, 'manifest.json');
    await writeFile(manifest, JSON.stringify({ version: 1, configDir: source, users: ['alice'], desktops: ['gnome'], toplevel: '/nix/store/00000000000000000000000000000000-nixos-system', closureBytes: 40 * GiB }));
    daemon = await startDaemon({ dir, configDirs: [source], extraArgs: ['--manifest', manifest] });
    const r = await runCli(['install', '--socket', daemon.socket, '--answers', file, '--json']);
    const { error } = resultOf(r);
    expect(error).toMatchObject({ code: 'answers-invalid', field: 'disk' });
    expect(error.description).toContain(`has 3.0 GiB (${3 * GiB} bytes); this install needs at least 80.0 GiB`);
    expect(error.description).toContain("the system's closure 40.0 GiB + build headroom 40.0 GiB");
    expect(logOf(r).some((l) => /before touching the disk/.test(l))).toBe(false);
    expect(isBlank(disk)).toBe(true);
  });
});

describe('cancel and what comes after', () => {
  it('a cancel mid-copy leaves nothing mounted and no swap on', async () => {
    const disk = await attachDisk(dir, 'target', 4 * GiB);
    const source = await writeConfig(join(dir, 'cfg'), { bootLoader: 'boot.loader.grub.efiSupport = true;', hostName: 'big', payloads: { big: 1_000_000_000, small: 1000 } });
    const file = join(source, 'install.json');
    await writeFile(file, JSON.stringify({ disk: disk.device, layout: { type: 'bios-ext4', swap: '64MiB' }, user: 'alice' }));
    daemon = await startDaemon({ dir, configDirs: [source] });
    const cli = startCli(['install', '--socket', daemon.socket, '--answers', file, '--json']);
    await cli.waitFor((e) => e.type === 'progress' && e.data.phase === 'copy' && e.data.bytesDone > 0, 180_000);
    expect(activeUses(disk.device).mounts).toHaveLength(1);
    expect(activeUses(disk.device).swaps).toEqual([`${disk.device}p2`]);
    expect((await runCli(['cancel', '--socket', daemon.socket, '--json'])).code).toBe(0);
    const r = await cli.done;
    expect(r.code).toBe(5);
    expect(resultOf(r).error.description).toContain('"wipe": true');
    expectReleased(disk, r);
  });

  it('"then": "poweroff" powers off after a success, through systemctl', async () => {
    const { bin, record } = await systemctlRecorder();
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: 'bios-ext4', then: 'poweroff' });
    const r = await installWith(file, [source], { PATH: `${bin}:${STAND_INS}:${process.env.PATH}` });
    expect(r.code).toBe(0);
    expect(resultOf(r).then).toEqual({ action: 'poweroff', delaySeconds: 10 });
    expect(existsSync(record)).toBe(false);
    const deadline = Date.now() + 15_000;
    while (!existsSync(record) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await readFile(record, 'utf8')).toBe('poweroff\n');
  });

  it('a cancel during the countdown keeps the machine on', async () => {
    const { bin, record } = await systemctlRecorder();
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: 'bios-ext4', then: 'reboot' });
    const r = await installWith(file, [source], { PATH: `${bin}:${STAND_INS}:${process.env.PATH}` });
    expect(resultOf(r).then).toEqual({ action: 'reboot', delaySeconds: 10 });
    expect((await runCli(['cancel', '--socket', daemon!.socket, '--json'])).code).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 11_000));
    expect(existsSync(record)).toBe(false);
  });
});

describe('LUKS2', () => {
  it.skipIf(NO_CRYPTSETUP)(`cryptsetup takes the installer's argv; the key is the passphrase file less its newline${NO_CRYPTSETUP ? ` (skipped: ${NO_CRYPTSETUP})` : ''}`, async () => {
    const image = join(dir, 'luks.img');
    await writeFile(image, '');
    run('truncate', ['--size', '32M', image]);
    const passphraseFile = join(dir, 'passphrase.txt');
    await writeFile(passphraseFile, 'correct horse\n');
    const encryption = { passphraseFile, passphraseBytes: 'correct horse'.length };
    expect(luksFormatArgs(image, encryption)).toEqual(['luksFormat', '--type', 'luks2', '--batch-mode', '--key-file', passphraseFile, '--keyfile-size', '13', image]);
    expect(luksOpenArgs(image, encryption, 'cryptroot')).toEqual(['open', '--type', 'luks2', '--key-file', passphraseFile, '--keyfile-size', '13', image, 'cryptroot']);
    run('cryptsetup', luksFormatArgs(image, encryption));
    expect(run('cryptsetup', ['luksDump', image])).toMatch(/^Version:\s+2$/m);
    // What is typed at boot (no newline) opens it; the file's bytes with the newline do not.
    run('cryptsetup', ['open', '--test-passphrase', '--key-file', '-', image], 'correct horse');
    expect(() => run('cryptsetup', ['open', '--test-passphrase', '--key-file', '-', image], 'correct horse\n')).toThrow();
  }, 120_000);

  it.skipIf(NO_DM)(`installs onto LUKS2 root and swap${NO_DM ? ` (skipped: ${NO_DM})` : ''}`, async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    await writeFile(join(dir, 'passphrase.txt'), 'correct horse\n');
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: { type: 'bios-ext4', swap: '64MiB', encrypt: { passphraseFile: join(dir, 'passphrase.txt') } }, user: 'alice' });
    const r = await installWith(file, [source]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const table = partitionTable(disk.device);
    expect(blkid(table.partitions[1]!.node)).toMatchObject({ TYPE: 'crypto_LUKS', VERSION: '2' });
    expect(blkid(table.partitions[2]!.node)).toMatchObject({ TYPE: 'crypto_LUKS', VERSION: '2' });
    expectReleased(disk, r);
    expect(existsSync('/dev/mapper/cryptroot')).toBe(false);
  }, 300_000);

  it.runIf(NO_DM)('encryption on a kernel without device-mapper is refused before the disk is touched', async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    await writeFile(join(dir, 'passphrase.txt'), 'correct horse\n');
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: { type: 'bios-ext4', encrypt: { passphraseFile: join(dir, 'passphrase.txt') } }, user: 'alice' });
    const r = await installWith(file, [source]);
    expect(r.code).toBe(1);
    const { error } = resultOf(r);
    expect(error).toMatchObject({ code: 'answers-invalid', field: 'layout.encrypt', title: 'Encryption cannot run on this machine' });
    expect(error.description).toContain('device-mapper');
    expect(isBlank(disk)).toBe(true);
  });

  it('an empty passphrase file is refused, naming the field', async () => {
    const disk = await attachDisk(dir, 'target', 3 * GiB);
    await writeFile(join(dir, 'passphrase.txt'), '\n');
    const { source, file } = await configWithAnswers({ disk: disk.device, layout: { type: 'bios-ext4', encrypt: { passphraseFile: '../passphrase.txt' } } });
    const r = await installWith(file, [source]);
    expect(resultOf(r).error).toMatchObject({ code: 'answers-invalid', field: 'layout.encrypt.passphraseFile', title: `The passphrase file ${join(dir, 'passphrase.txt')} is empty` });
    expect(isBlank(disk)).toBe(true);
  });
});

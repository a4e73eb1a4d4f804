// Installs from a store laid out as the ISO's: a real squashfs of the
// system's build closure at /nix/.ro-store, /nix/store an overlay of it with
// writes in tmpfs, the database loaded from the image's registration, in a
// mount namespace of the daemon's own (scripts/iso-store.sh). The closure is
// deleted from this bed's store after the image is made, so whatever the
// install copies, it read from the squashfs.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failure, moduleCopy, runCalamares } from '../helpers/calamares.js';
import { resultOf, runCli } from '../helpers/cli.js';
import { startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { CLI, NIX_CONFIG, REPO, testEnv } from '../helpers/env.js';
import { endIsoStoreTest, isoStoreBed, type IsoStore } from '../helpers/iso-store.js';
import { failingReads, overwrite, type FailingMedium } from '../helpers/bad-medium.js';
import { attachDisk, partitionTable, withReadOnly } from '../helpers/loop-disk.js';

const nixEnv = { ...process.env, NIX_CONFIG: `${NIX_CONFIG}\nexperimental-features = nix-command` };
const nix = (args: string[]) => execFileSync('nix', args, { env: nixEnv, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const validInThisStore = (path: string) => validInStore(null, path);
const validInStore = (root: string | null, path: string) => {
  try {
    execFileSync('nix-store', [...(root ? ['--store', root] : []), '--check-validity', path], { env: nixEnv, stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

let dir: string;
let root: string;
let source: string;
let iso: IsoStore;
let daemon: RunningDaemon | null = null;
let medium: FailingMedium | null = null;

beforeEach(async () => {
  // GRUB's disk a default (lib.mkDefault), so the answer file's bios-ext4 layout names its own disk.
  ({ dir, root, source, iso } = await isoStoreBed('iso-store', (nonce) => ({ bootLoader: 'boot.loader.grub.device = lib.mkDefault "/dev/vda";\n  boot.loader.grub.efiSupport = true;', hostName: 'iso', payloads: { [`kernel-${nonce}`]: 3_000_000, [`locale-${nonce}`]: 40_000 }, randomPayloads: { [`firmware-${nonce}`]: 2_000_000 } })));
});
afterEach(async () => {
  const [running, failing] = [daemon, medium];
  daemon = null;
  medium = null;
  await endIsoStoreTest(dir, running, failing);
});

const payloadsOf = (iso: IsoStore) => iso.paths.filter((p) => /-(payload|random)-/.test(p) && !p.endsWith('.drv'));

describe('the ISO store', () => {
  it('an install copies from the squashfs and leaves this bed’s store as it was', async () => {
    daemon = await startDaemon({ dir, configDirs: [source], isoStore: iso.image });
    const run = await runCli(['install', '--socket', daemon.socket, '--root', root, '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const toplevel: string = resultOf(run).toplevel;

    // The target has the whole closure, valid by Nix's own check, the ISO's payloads among it.
    const target = nix(['path-info', '--store', root, '--recursive', toplevel]).trim().split('\n');
    for (const payload of payloadsOf(iso)) expect(target).toContain(payload);
    nix(['store', 'verify', '--store', root, '--no-trust', '--recursive', toplevel]);
    expect(await readlink(join(root, 'nix/var/nix/profiles/system-1-link'))).toBe(toplevel);
    // Nothing of it reached this bed's store: neither the image's paths nor the system built from them.
    for (const path of [toplevel, ...iso.paths]) expect(validInThisStore(path), path).toBe(false);
    // The time left counted what each path reads from the squashfs, its tables read from the loop device.
    const installLog = await readFile(join(root, 'var/log/nixos-offline-installer/install.log'), 'utf8');
    expect(installLog).toMatch(/live medium \/dev\/loop\d+: \d+ entries read for the time left/);
  });

  it('a check evaluates and dry-runs the realisation against the ISO store', async () => {
    daemon = await startDaemon({ dir, configDirs: [source], isoStore: iso.image });
    const run = await runCli(['validate', '--socket', daemon.socket, '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const validation = run.events[0]!.data.validation;
    expect(validation.checks.find((c: any) => c.name === 'offline')).toEqual({ name: 'offline', ok: true });
    expect(validation).toMatchObject({ ok: true, source });
    expect(validation.checks.every((c: any) => c.ok)).toBe(true);
  });

  it('an unattended install onto a blank disk', async () => {
    const disk = await attachDisk(dir, 'target', 2 * 1024 ** 3);
    const answers = join(source, 'install.json');
    await writeFile(answers, JSON.stringify({ disk: disk.device, layout: { type: 'bios-ext4' }, user: 'alice', desktop: 'gnome', then: 'stay' }));
    daemon = await startDaemon({ dir, configDirs: [source], isoStore: iso.image });
    const run = await runCli(['install', '--socket', daemon.socket, '--answers', answers, '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const toplevel: string = resultOf(run).toplevel;
    const rootNode = partitionTable(disk.device).partitions.at(-1)!.node;
    await withReadOnly(rootNode, dir, 'check', async (mounted) => {
      const system = await readlink(join(mounted, 'nix/var/nix/profiles/system-1-link'));
      expect(system).toBe(toplevel);
      // Mounted read-only, Nix cannot open this store: its database and the payloads are there.
      expect(existsSync(join(mounted, 'nix/var/nix/db/db.sqlite'))).toBe(true);
      for (const payload of payloadsOf(iso)) expect(existsSync(join(mounted, payload)), payload).toBe(true);
    });
  });

  it('a Calamares run', async () => {
    daemon = await startDaemon({ dir, configDirs: [source], isoStore: iso.image });
    const modules = await moduleCopy(dir, { socket: daemon.socket });
    const { log } = await runCalamares(dir, modules, {
      rootMountPoint: root,
      username: 'alice',
      hostname: 'iso-01',
      packagechooser_packagechooser: 'gnome',
      firmwareType: 'efi',
      bootLoader: { installPath: '/dev/vda' },
    });
    expect(failure(log), log).toBeNull();
    expect(log).toContain('[PYTHON JOB]: "[nix copy] copying path');
    const profile = await readlink(join(root, 'nix/var/nix/profiles/system-1-link'));
    const target = nix(['path-info', '--store', root, '--recursive', profile]).trim().split('\n');
    for (const payload of payloadsOf(iso)) expect(target).toContain(payload);
    expect(await readFile(join(root, 'etc/nixos/configuration.nix'), 'utf8')).toContain('networking.hostName = "iso"');
  });
});

const MiB = 1024 ** 2;

describe('a damaged medium', () => {
  // The incompressible payload: squashfs stores its blocks as they are, so damage there is damage to its bytes.
  const damagedPath = () => [...iso.offsets.keys()].find((p) => p.includes('-random-firmware-'))!;

  async function installFails(image: string) {
    daemon = await startDaemon({ dir, configDirs: [source], isoStore: image });
    const run = await runCli(['install', '--socket', daemon.socket, '--root', root, '--json']);
    expect(run.code, run.stdout + run.stderr).toBe(1);
    const { error } = resultOf(run);
    expect(error).toMatchObject({ code: 'medium-damaged', title: "The installer's medium is damaged" });
    // Where, what the target got, and what to do; nothing about the target's free space.
    expect(error.description).toContain(damagedPath());
    expect(error.description).toMatch(/Written to the target .*: \d+ of \d+ store paths/);
    expect(error.description).toContain('write the ISO to the stick again');
    expect(error.description).toContain("the ISO's checksum");
    expect(error.description).toContain('nixos-offline-installer check-medium');
    expect(error.description).not.toMatch(/free space|df -h/);
    // It stopped at the copy: nothing installed, the damaged path not valid on the target.
    expect(run.events.filter((e) => e.type === 'phase').map((e) => e.data.phase).at(-1)).toBe('copy');
    expect(existsSync(join(root, 'nix/var/nix/profiles/system'))).toBe(false);
    expect(validInStore(root, damagedPath())).toBe(false);
    return error;
  }

  it('an image with 1 MiB overwritten (wrong data, no read error) stops the install, naming the path', async () => {
    await overwrite(iso.image, iso.offsets.get(damagedPath())!, MiB);
    const error = await installFails(iso.image);
    expect(error.description).toMatch(/hash mismatch/);
  });

  it('a read error (EIO) stops the install, naming the path', async () => {
    const start = iso.offsets.get(damagedPath())! + 4096;
    medium = await failingReads(iso.image, dir, start, start + 4096);
    const error = await installFails(medium.image);
    expect(error.description).toMatch(/Input\/output error/);
  });
});

// check-medium as the boot menu entry runs it: root, no daemon, on the ISO's store.
function checkMedium(image: string, args: string[] = []): { code: number; events: any[]; stdout: string } {
  const run = spawnSync('bash', [join(REPO, 'scripts/iso-store.sh'), image, '--', process.execPath, CLI, 'check-medium', '--json', ...args], { env: testEnv(), encoding: 'utf8' });
  const events = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { code: run.status ?? -1, events, stdout: run.stdout + run.stderr };
}

describe('check-medium', () => {
  const damagedPath = () => [...iso.offsets.keys()].find((p) => p.includes('-random-firmware-'))!;

  it('passes a good medium, with progress to the last byte and the time left', () => {
    const run = checkMedium(iso.image);
    expect(run.code, run.stdout).toBe(0);
    const result = run.events.find((e) => e.type === 'result')!.data;
    // Every path of the image, and whatever else the store holds (the registration's paths are all of it here).
    expect(result).toMatchObject({ ok: true, damaged: [] });
    expect(result.paths).toBeGreaterThanOrEqual(iso.paths.length);
    const progress = run.events.filter((e) => e.type === 'progress').map((e) => e.data);
    expect(progress.at(-1)).toMatchObject({ pathsDone: result.paths, bytesDone: result.bytes, secondsLeft: 0 });
    expect(progress[0].secondsLeft).toBeNull();
  });

  it('names the path 1 MiB of overwritten data is in, and exits 1', async () => {
    await overwrite(iso.image, iso.offsets.get(damagedPath())!, MiB);
    const run = checkMedium(iso.image);
    expect(run.code, run.stdout).toBe(1);
    const result = run.events.find((e) => e.type === 'result')!.data;
    expect(result.ok).toBe(false);
    expect(result.damaged.map((d: any) => d.path)).toEqual([damagedPath()]);
    expect(result.damaged[0].said).toContain(damagedPath());
  });

  it('names the path a read error is in, and checks the rest', async () => {
    const start = iso.offsets.get(damagedPath())! + 4096;
    medium = await failingReads(iso.image, dir, start, start + 4096);
    const run = checkMedium(medium.image);
    expect(run.code, run.stdout).toBe(1);
    const result = run.events.find((e) => e.type === 'result')!.data;
    expect(result.damaged.map((d: any) => d.path)).toEqual([damagedPath()]);
    expect(result.damaged[0].said).toMatch(/Input\/output error/);
    expect(result.paths).toBeGreaterThanOrEqual(iso.paths.length);
  });

  it('refuses an argument that is not a store path', () => {
    const run = checkMedium(iso.image, ['/etc/passwd']);
    expect(run.code).toBe(2);
    // With --json a usage error is one JSON object too.
    expect(run.events.find((e) => e.type === 'error')?.data).toMatchObject({ code: 'usage', title: expect.stringContaining('"/etc/passwd" is not a store path') });
  });
});

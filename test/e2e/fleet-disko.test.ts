// A fleet served from a configuration that lays out its disks with disko
// (the stand-in of test/helpers/disko.ts, as the unattended disko tests use):
// the seed checks the target's system with disko's file systems and builds
// its format and mount scripts in its own store; a target with an empty store
// copies the scripts from there into its own, runs them on the disk its answer
// file names (the one disko's device is), and installs there.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT_TYPES } from '../../src/disk/layout.js';
import { logLinesOf, resultOf } from '../helpers/cli.js';
import { type RunningDaemon } from '../helpers/daemon.js';
import { writeDiskoConfig } from '../helpers/disko.js';
import { scratch } from '../helpers/env.js';
import { endServedFleet, fleetRequest, installFleetTarget, serveFleet, type ServedFleet } from '../helpers/fleet.js';
import { activeUses, attachDisk, blkid, isBlank, partitionTable, withReadOnly, type LoopDisk } from '../helpers/loop-disk.js';
import { Namespaces } from '../helpers/netns.js';

const NET = '10.81.0';
const PORT = '8477';
const URL = `http://${NET}.1:${PORT}`;
const GiB = 1024 ** 3;

let dir: string;
let fleet: ServedFleet | null = null;
let targetDaemon: RunningDaemon | null = null;
const ns = new Namespaces();
let target: string;
let answers: string;
let secret: string;
let disk: LoopDisk;
let root: string;

afterAll(() => endServedFleet(dir, ns, fleet, targetDaemon));

beforeAll(async () => {
  dir = await scratch('fleet-disko');
  // The target's disk first: disko writes its device into the scripts, as a configuration names a batch's disks.
  await mkdir(join(dir, 'fleet-target'));
  disk = await attachDisk(join(dir, 'fleet-target'), 'disk', 3 * GiB);
  root = join(dir, 'mnt');
  const source = await writeDiskoConfig(join(dir, 'nix-cfg'), disk.device, root);
  fleet = await serveFleet(dir, ns, NET, PORT, { source });
  ({ target, answers, secret } = fleet);
});

describe('a fleet target of a configuration with a disko layout', () => {
  it('is refused by the seed when its answer file also names a layout, naming the field, before its disk is touched', async () => {
    const installed = await installFleetTarget(join(dir, 'target-refused'), target, answers, URL, secret, 0, { disk, extra: { layout: 'bios-ext4' } });
    targetDaemon = installed.daemon;
    expect(resultOf(installed.run)?.error?.title).toContain('"layout" is not used: the layout comes from disko');
    // The target's own result names the field too, as an unattended install's does.
    expect(resultOf(installed.run)?.error).toMatchObject({ code: 'answers-invalid', field: 'layout' });
    const shown = fleetRequest(target, `${URL}/targets`, secret).json.targets.find((t: { mac: string }) => t.mac === installed.mac);
    expect(shown).toMatchObject({ state: 'failed', error: { field: 'layout' } });
    expect(isBlank(disk)).toBe(true);
    await targetDaemon.stop();
    targetDaemon = null;
  });

  it("gets disko's scripts from the seed's store, which partition, format and mount its disk, and installs there", async () => {
    const installed = await installFleetTarget(join(dir, 'target-disko'), target, answers, URL, secret, 0, { disk, extra: { layout: undefined } });
    targetDaemon = installed.daemon;
    const result = resultOf(installed.run);
    expect(result?.ok, JSON.stringify(result?.error ?? installed.run.stderr)).toBe(true);
    const lines = logLinesOf(installed.run.events);
    expect(lines.map((l) => l.line)).toContain(`the configuration lays out its disks with disko: disko.devices.disk.main is ${disk.device}, mounted at ${root}; copying its format and mount scripts from the seed`);
    // The scripts' own trace (set -x) under "disko", run by the target.
    expect(lines.some((l) => l.source === 'disko' && new RegExp(`^\\+ mkfs\\.ext4 -q ${disk.device}p3$`).test(l.line))).toBe(true);
    expect(fleetRequest(target, `${URL}/targets`, secret).json.targets.find((t: { mac: string }) => t.mac === installed.mac)).toMatchObject({ state: 'succeeded' });
    const table = partitionTable(disk.device);
    expect(table.partitions.map((p) => [p.type, p.name])).toEqual([
      [GPT_TYPES['bios-boot'], 'disk-main-boot'],
      [GPT_TYPES.swap, 'disk-main-swap'],
      [GPT_TYPES.root, 'disk-main-root'],
    ]);
    expect(blkid(table.partitions[1]!.node)).toMatchObject({ TYPE: 'swap' });
    expect(activeUses(disk.device)).toEqual({ mounts: [], swaps: [] });
    await withReadOnly(table.partitions[2]!.node, join(dir, 'fleet-target'), 'check', async (installedRoot) => {
      expect(await readFile(join(installedRoot, 'etc/nixos/disko.nix'), 'utf8')).toContain('disko.devices.disk.main');
      // The seed's check used disko's file systems: the target's probe, with none of its own.
      expect(await readFile(join(installedRoot, 'etc/nixos/hardware-configuration.nix'), 'utf8')).not.toContain('fileSystems."/"');
      const receipt = JSON.parse(await readFile(join(installedRoot, 'var/log/nixos-offline-installer/receipt.json'), 'utf8'));
      expect(receipt).toMatchObject({ system: result.toplevel, disk: { path: disk.device, pttype: 'gpt' } });
    });
  });
});

// A fleet served from a flake configuration: the seed checks and builds each
// target's system through the flake (its nixpkgs input only in the seed's
// store, locked by real Nix), and a target with an empty store copies the
// system and the input it locks, so that the flake in its /etc/nixos rebuilds
// offline, as an install from the ISO of the same flake does (flake.test.ts).
import { existsSync } from 'node:fs';
import { readFile, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLinesOf, resultOf } from '../helpers/cli.js';
import { type RunningDaemon } from '../helpers/daemon.js';
import { scratch } from '../helpers/env.js';
import { closureHashOf, endServedFleet, fleetRequest, installFleetTarget, serveFleet, type ServedFleet } from '../helpers/fleet.js';
import { flakeNixEnv, lockFlake, nixOut, standInNixpkgsTarball, writeFlakeConfig } from '../helpers/flake.js';
import { partitionTable, withReadOnly } from '../helpers/loop-disk.js';
import { Namespaces } from '../helpers/netns.js';

const NET = '10.80.0';
const PORT = '8475';
const URL = `http://${NET}.1:${PORT}`;
const GiB = 1024 ** 3;

let dir: string;
let fleet: ServedFleet | null = null;
let targetDaemon: RunningDaemon | null = null;
const ns = new Namespaces();

afterAll(() => endServedFleet(dir, ns, fleet, targetDaemon));

let target: string;
let answers: string;
let secret: string;
let source: string;
let inputPath: string;

beforeAll(async () => {
  dir = await scratch('fleet-flake');
  const nixEnv = flakeNixEnv(join(dir, 'test-cache'));
  const tarball = await standInNixpkgsTarball(dir);
  source = await writeFlakeConfig(join(dir, 'nix-cfg'), tarball, { configurations: { field: { users: ['alice'] } } });
  await lockFlake(source, nixEnv);
  inputPath = JSON.parse(nixOut(['flake', 'archive', '--json', `path:${source}`], nixEnv)).inputs.nixpkgs.path;
  // Only the store holds the input now, as on the ISO.
  await rm(tarball);
  fleet = await serveFleet(dir, ns, NET, PORT, { source, daemonEnv: { XDG_CACHE_HOME: join(dir, 'daemon-cache') } });
  ({ target, answers, secret } = fleet);
});

describe('a fleet target of a flake configuration', () => {
  it("gets the system and the flake's locked input from the seed's store, kept on its disk, with the flake in /etc/nixos", async () => {
    const installed = await installFleetTarget(join(dir, 'fleet-target'), target, answers, URL, secret, 3 * GiB);
    targetDaemon = installed.daemon;
    const result = resultOf(installed.run);
    expect(result?.ok, JSON.stringify(result?.error ?? installed.run.stderr)).toBe(true);
    expect(result.toplevel).toMatch(/^\/nix\/store\/[a-z0-9]{32}-nixos-system-/);
    const receipt = JSON.parse(await readFile(join(dir, 'fleet', 'receipts', `${installed.mac}.json`), 'utf8'));
    // The closure the disk had to hold and the copy counted is the system's and the input's.
    const closure = JSON.parse(nixOut(['path-info', '--json', '--recursive', result.toplevel, inputPath], flakeNixEnv(join(dir, 'test-cache'))));
    const paths = Array.isArray(closure) ? closure.length : Object.keys(closure.info ?? closure).length;
    expect(fleetRequest(target, `${URL}/targets`, secret).json.targets[0]).toMatchObject({ mac: installed.mac, state: 'succeeded' });
    expect(receipt.closureBytes).toBeGreaterThan(0);
    // The target checked its copy of both against the seed's closure hash.
    expect(receipt).toMatchObject({ closurePaths: paths, closureHash: closureHashOf([result.toplevel, inputPath]) });
    expect(logLinesOf(installed.run.events).filter((l) => l.source === 'copy').map((l) => l.line)).toContainEqual(expect.stringMatching(new RegExp(`^copied ${paths} paths `)));

    const rootNode = partitionTable(installed.disk.device).partitions.at(-1)!.node;
    await withReadOnly(rootNode, join(dir, 'fleet-target'), 'check', async (root) => {
      expect(existsSync(join(root, result.toplevel))).toBe(true);
      expect(existsSync(join(root, inputPath, 'flake.nix'))).toBe(true);
      expect(await readlink(join(root, 'nix/var/nix/gcroots/nixos-offline-installer/flake-input-nixpkgs'))).toBe(inputPath);
      for (const file of ['flake.nix', 'flake.lock', 'configuration.nix']) expect(await readFile(join(root, 'etc/nixos', file), 'utf8'), file).toBe(await readFile(join(source, file), 'utf8'));
    });
  });
});

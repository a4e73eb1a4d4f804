// What fleet tests share: the stand-in boot files a seed serves (the netboot
// kernel, initrd and iPXE binaries cannot be built here), a target's hardware
// probe, and HTTP from inside a network namespace (curl).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCli, startCli, type CliHandle, type CliRun } from './cli.js';
import { writeConfig } from './config.js';
import { attachDisk, endDiskTest, type LoopDisk } from './loop-disk.js';
import { cleanUp, startDaemon, type RunningDaemon } from './daemon.js';
import { inNetns, ip, type Namespaces } from './netns.js';
import { sealKeyPair, unseal, type GoSecrets, type Sealed } from '../../src/protocol/sealed.js';

// What a netbooted target sends: its hardware probe (nixos-generate-config's words, firmware, DMI).
export const HARDWARE = { config: '{ ... }:\n{\n  boot.initrd.availableKernelModules = [ "virtio_pci" ];\n}\n', firmware: 'efi', dmi: { vendor: 'QEMU', product: 'Standard PC', serial: null } };

// The key the tests' targets register with (a target's daemon makes one per install), and what the go sealed to it holds.
export const SEAL = sealKeyPair();
export function goSecrets(go: { sealed: Sealed }): GoSecrets {
  return unseal(go.sealed, SEAL.privateKey);
}

export async function standInBootFiles(dir: string): Promise<{ ipxe: string; netboot: string }> {
  const ipxe = join(dir, 'ipxe');
  const netboot = join(dir, 'netboot');
  await mkdir(ipxe);
  await writeFile(join(ipxe, 'undionly.kpxe'), 'stand-in iPXE for BIOS\n');
  await writeFile(join(ipxe, 'ipxe.efi'), 'stand-in iPXE for UEFI\n');
  // World-readable: dnsmasq's TFTP serves nothing else.
  await chmod(join(ipxe, 'undionly.kpxe'), 0o644);
  await chmod(join(ipxe, 'ipxe.efi'), 0o644);
  await mkdir(netboot);
  await writeFile(join(netboot, 'bzImage'), 'stand-in kernel\n');
  await writeFile(join(netboot, 'initrd'), 'stand-in initrd\n');
  await writeFile(join(netboot, 'kernel-params'), 'init=/nix/store/00000000000000000000000000000000-nixos-system-netboot/init loglevel=4\n');
  return { ipxe, netboot };
}

export interface FleetBed {
  seed: string;
  target: string;
  // The answers folder: default.json installs efi-ext4 for user alice on /dev/disk/by-id/virtio-fleet.
  answers: string;
  daemon: RunningDaemon;
  // `fleet serve`'s arguments for this seed (no --socket, no --json).
  serveArgs: string[];
}

// A seed and a target in network namespaces of NS, linked (s0, t0) on NET.0/24 (the seed .1, the target .50),
// the seed's daemon running in its namespace with a configuration of user alice, stand-in boot files.
// SETUP may give another configuration folder (a flake), what the seed's daemon adds to its environment, and answer
// files beside default.json (by MAC).
export interface FleetSetup {
  source?: string;
  daemonEnv?: Record<string, string>;
  answers?: Record<string, unknown>;
}

export async function fleetBed(dir: string, ns: Namespaces, net: string, port: string, setup: FleetSetup = {}): Promise<FleetBed> {
  const { ipxe, netboot } = await standInBootFiles(dir);
  const source = setup.source ?? (await writeConfig(join(dir, 'nix-cfg'), { users: ['alice'] }));
  const answers = join(dir, 'answers');
  await mkdir(answers);
  await writeFile(join(answers, 'default.json'), JSON.stringify({ disk: '/dev/disk/by-id/virtio-fleet', layout: 'efi-ext4', user: 'alice', hostname: 'fleet-01' }));
  for (const [mac, file] of Object.entries(setup.answers ?? {})) await writeFile(join(answers, `${mac}.json`), JSON.stringify(file));
  const seed = ns.add('seed');
  const target = ns.add('target');
  ns.link(seed, 's0', target, 't0');
  ip('-n', seed, 'address', 'add', `${net}.1/24`, 'dev', 's0');
  ip('-n', target, 'address', 'add', `${net}.50/24`, 'dev', 't0');
  const daemon = await startDaemon({ dir, configDirs: [source], netns: seed, ...(setup.daemonEnv && { env: setup.daemonEnv }) });
  const serveArgs = ['--interface', 's0', '--address', `${net}.1/24`, '--answers', answers, '--port', port, '--ipxe', ipxe, '--netboot', netboot];
  return { seed, target, answers, daemon, serveArgs };
}

// A fleet bed with `fleet serve --json` running on it, and the fleet's secret from its reply.
export interface ServedFleet extends FleetBed {
  serve: CliHandle;
  secret: string;
}

export async function serveFleet(dir: string, ns: Namespaces, net: string, port: string, setup: FleetSetup = {}): Promise<ServedFleet> {
  const bed = await fleetBed(dir, ns, net, port, setup);
  const serve = startCli(['fleet', 'serve', '--socket', bed.daemon.socket, '--json', ...bed.serveArgs]);
  try {
    const reply = await serve.waitFor((e) => e.type === 'reply');
    expect(reply.data, JSON.stringify(reply.data)).toMatchObject({ ok: true });
    return { ...bed, serve, secret: reply.data.fleet.secret };
  } catch (error) {
    serve.signal('SIGINT');
    await serve.done;
    await bed.daemon.stop();
    throw error;
  }
}

// Ends what a served fleet's tests started: the target's daemon and disks (under DIR/fleet-target), `fleet serve`,
// the seed's daemon and the namespaces.
export async function endServedFleet(dir: string, ns: Namespaces, fleet: ServedFleet | null, targetDaemon: RunningDaemon | null): Promise<void> {
  await endDiskTest(join(dir, 'fleet-target'), targetDaemon).catch(() => undefined);
  fleet?.serve.signal('SIGINT');
  await fleet?.serve.done;
  await cleanUp(dir, fleet?.daemon ?? null);
  ns.remove();
}

export function curl(netns: string, args: string[]): { status: number; body: string; code: number } {
  const run = inNetns(netns, ['curl', '-sS', '--max-time', '20', '-w', '\n%{http_code}', ...args]);
  const cut = run.stdout.lastIndexOf('\n');
  return { status: Number(run.stdout.slice(cut + 1)), body: run.stdout.slice(0, cut), code: run.code };
}

// A JSON request with the fleet's secret (null: none).
export function fleetRequest(netns: string, url: string, secret: string | null, body?: unknown): { status: number; json: any } {
  const auth = secret !== null ? ['-H', `Authorization: Bearer ${secret}`] : [];
  const data = body === undefined ? [] : ['-X', 'POST', '-H', 'content-type: application/json', '--data-binary', typeof body === 'string' ? body : JSON.stringify(body)];
  const reply = curl(netns, [...auth, ...data, url]);
  return { status: reply.status, json: reply.body ? JSON.parse(reply.body) : null };
}

// A target's copy of its system from the seed, with the installer's own module (dist/nix/ssh-ng.js), run as a
// netbooted target would: in its network namespace, in a private mount namespace whose /nix is empty (a tmpfs).
export function copyFromSeedScript(cliDist: string, store: { host: string; port: number; privateKey: string; hostKey: string }, work: string, root: string, system: string): string {
  return `
import { writeFileSync } from 'node:fs';
const { copyFromSeed, knownHostsLine } = await import(${JSON.stringify(`${cliDist}/nix/ssh-ng.js`)});
const store = ${JSON.stringify(store)};
writeFileSync(${JSON.stringify(`${work}/key`)}, store.privateKey, { mode: 0o600 });
writeFileSync(${JSON.stringify(`${work}/known_hosts`)}, knownHostsLine(store, store.hostKey));
const say = (source, line) => console.log(\`[\${source}] \${line}\`);
const ctx = { signal: new AbortController().signal, log: say, output: say, recentLines: () => [] };
const seed = { host: store.host, port: store.port, keyFile: ${JSON.stringify(`${work}/key`)}, knownHostsFile: ${JSON.stringify(`${work}/known_hosts`)}, controlPath: ${JSON.stringify(`${work}/ssh-connection`)} };
let finished = 0;
await copyFromSeed(ctx, seed, ${JSON.stringify(root)}, [${JSON.stringify(system)}], { started: () => {}, finished: () => finished++ });
console.log('copied paths: ' + finished);
`;
}

export interface FleetTargetRun {
  run: CliRun;
  mac: string;
  disk: LoopDisk;
  daemon: RunningDaemon;
}

// A target's own `install --fleet URL` as a netbooted one runs it: its daemon in the target's namespace with an empty
// store, its own loop disk of SIZE bytes named by its answer file in ANSWERS (firmware as this machine booted).
// BEFORE runs on the disk before the install (a file system a wipe must erase); EXTRA goes into the answer file;
// DISK is one attached already (a disko configuration names it).
export async function installFleetTarget(
  dir: string,
  target: string,
  answers: string,
  url: string,
  secret: string,
  size: number,
  setup: { before?: (disk: LoopDisk) => void; extra?: Record<string, unknown>; disk?: LoopDisk } = {},
): Promise<FleetTargetRun> {
  await mkdir(dir, { recursive: true });
  const disk = setup.disk ?? (await attachDisk(dir, 'disk', size));
  setup.before?.(disk);
  const mac = /link\/ether ([0-9a-f:]{17})/.exec(ip('-n', target, 'link', 'show', 't0'))![1]!;
  const layout = existsSync('/sys/firmware/efi') ? 'efi-ext4' : 'bios-ext4';
  await writeFile(join(answers, `${mac}.json`), JSON.stringify({ disk: disk.device, layout, user: 'alice', hostname: 'fleet-target', ...setup.extra }));
  const secretFile = join(dir, 'secret');
  await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
  const daemon = await startDaemon({ dir, configDirs: [join(dir, 'no-config')], netns: target, evalUser: false, emptyStore: true });
  const run = await runCli(['install', '--socket', daemon.socket, '--fleet', url, '--secret-file', secretFile, '--json']);
  return { run, mac, disk, daemon };
}

// The test's own reading of a closure's hash from the live store's records, as the seed's go and a receipt give it:
// SHA-256 over "<path> <NAR hash>" lines sorted by path.
export function closureHashOf(roots: string[]): string {
  const query = (args: string[]) => execFileSync('nix-store', ['--query', ...args], { encoding: 'utf8' }).trim().split('\n');
  const paths = [...new Set(query(['--requisites', '--', ...roots]))].sort();
  const lines = paths.map((path) => `${path} ${query(['--hash', '--', path])[0]}\n`);
  return `sha256:${createHash('sha256').update(lines.join('')).digest('hex')}`;
}

// `fleet serve` end to end: the real daemon in a network namespace of its own
// (the seed), real dnsmasq on one of its veth interfaces, and targets in other
// namespaces that ask what a PXE ROM and iPXE would: DHCP (busybox udhcpc),
// TFTP (curl tftp://) and HTTP (curl). No route leads out of any namespace. The
// netboot kernel, initrd and iPXE binaries cannot be built here: stand-in files.
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, type CliHandle } from '../helpers/cli.js';
import { cleanUp, FLEET_USER, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { pidsWith, README_STOP_DEADLINE_MS, scratch } from '../helpers/env.js';
import { curl, HARDWARE, SEAL } from '../helpers/fleet.js';
import { inNetns, ip, Namespaces } from '../helpers/netns.js';
import { processStartTime } from '../../src/process/child-record.js';

const SEED = '10.77.0.1';
const PORT = '8471';
const URL = `http://${SEED}:${PORT}`;
// A target's own address once DHCP was checked, below the range DHCP leases from (the upper half).
const TARGET = '10.77.0.50';
const OWN_MAC = '52:54:00:00:00:01';
const OTHER_MAC = '52:54:00:00:00:02';
const BROKEN_MAC = '52:54:00:00:00:03';

let dir: string;
let daemon: RunningDaemon | null = null;
let serve: CliHandle | null = null;
let secret = '';
const ns = new Namespaces();
let seed: string;
let target: string;
let stranger: string;

// udhcpc hands what it got to its script in the environment: the script writes it down, one file per event.
async function udhcpc(netns: string, iface: string, extra: string[] = []): Promise<{ code: number; lease: Record<string, string> | null; output: string }> {
  const out = join(dir, `udhcpc-${netns}-${Date.now()}`);
  const script = join(dir, 'udhcpc-script');
  await writeFile(script, '#!/bin/sh\n[ "$1" = bound ] && env > "$UDHCPC_OUT"\nexit 0\n', { mode: 0o755 });
  // -n: give up without a lease; 3 tries 4 s apart leave room for dnsmasq's ping check (up to 3 s) before an offer.
  const run = inNetns(netns, ['busybox', 'udhcpc', '-i', iface, '-f', '-q', '-n', '-t', '3', '-T', '4', '-s', script, ...extra], { env: { ...process.env, UDHCPC_OUT: out } });
  const lease = existsSync(out) ? Object.fromEntries(readFileSync(out, 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) : null;
  return { code: run.code, lease, output: run.stdout + run.stderr };
}

const register = (mac: string, token: string | null, body?: string) =>
  curl(target, ['-X', 'POST', ...(token !== null ? ['-H', `Authorization: Bearer ${token}`] : []), '-H', 'content-type: application/json', '--data-binary', body ?? JSON.stringify({ mac, hardware: HARDWARE, sealKey: SEAL.publicKey }), `${URL}/targets`]);

function dnsmasqPid(): number {
  return Number(readFileSync(join(dir, 'fleet', 'dnsmasq.pid'), 'utf8').trim());
}

function serveArgs(extra: string[] = []): string[] {
  return ['fleet', 'serve', '--socket', daemon!.socket, '--json', '--interface', 's0', '--address', `${SEED}/24`, '--answers', join(dir, 'answers'), '--port', PORT, '--ipxe', join(dir, 'ipxe'), '--netboot', join(dir, 'netboot'), ...extra];
}

async function startServing(): Promise<void> {
  serve = startCli(serveArgs());
  const reply = await serve.waitFor((e) => e.type === 'reply');
  expect(reply.data, JSON.stringify(reply.data)).toMatchObject({ ok: true, request: 'fleet-serve' });
  secret = reply.data.fleet.secret;
}

// A missing tool is the test bed's fault, said as such (scripts/bed-packages.sh lists them), never a skip.
function requireTools(): void {
  for (const tool of ['dnsmasq', 'busybox', 'curl', 'systemd-socket-activate', 'setpriv']) {
    const found = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')].some((d) => d && existsSync(join(d, tool)));
    if (!found) throw new Error(`${tool} is not installed on this test bed: scripts/bed-packages.sh lists it (setup.sh and bed-build.sh install the list)`);
  }
}

beforeAll(async () => {
  requireTools();
  dir = await scratch('fleet');
  // Stand-ins: the iPXE binaries (root's alone: the seed serves its own copies), the netboot kernel and initrd.
  await mkdir(join(dir, 'ipxe'), { mode: 0o700 });
  await writeFile(join(dir, 'ipxe', 'undionly.kpxe'), 'stand-in iPXE for BIOS\n', { mode: 0o600 });
  await writeFile(join(dir, 'ipxe', 'ipxe.efi'), 'stand-in iPXE for UEFI\n', { mode: 0o600 });
  await mkdir(join(dir, 'netboot'));
  await writeFile(join(dir, 'netboot', 'bzImage'), 'stand-in kernel\n');
  await writeFile(join(dir, 'netboot', 'initrd'), 'stand-in initrd\n');
  await writeFile(join(dir, 'netboot', 'kernel-params'), 'init=/nix/store/00000000000000000000000000000000-nixos-system-netboot/init loglevel=4\n');
  await mkdir(join(dir, 'answers'));
  await writeFile(join(dir, 'answers', 'default.json'), JSON.stringify({ disk: '/dev/disk/by-id/default-disk', layout: 'efi-ext4' }));
  await writeFile(join(dir, 'answers', `${OWN_MAC}.json`), JSON.stringify({ disk: '/dev/disk/by-id/own-disk', layout: 'bios-ext4' }));
  await writeFile(join(dir, 'answers', `${BROKEN_MAC}.json`), JSON.stringify({ disk: '/dev/vda', layout: 'zfs-mirror' }));

  seed = ns.add('seed');
  target = ns.add('target');
  stranger = ns.add('other');
  // s0: the fleet's network; s1: another interface of the seed, where no DHCP may be served. Its one
  // address lies in the fleet's network, so a dnsmasq that listened there would lease from the range.
  ns.link(seed, 's0', target, 't0');
  ns.link(seed, 's1', stranger, 'o0');
  ip('-n', seed, 'address', 'add', `${SEED}/24`, 'dev', 's0');
  ip('-n', seed, 'address', 'add', '10.77.0.3/32', 'dev', 's1');
  daemon = await startDaemon({ dir, configDirs: [join(dir, 'no-config')], netns: seed, evalUser: false });
  await startServing();
});

afterAll(async () => {
  serve?.signal('SIGINT');
  await serve?.done;
  await cleanUp(dir, daemon);
  ns.remove();
});

describe('network boot', () => {
  it('leases an address from the upper half of the network, naming the BIOS iPXE binary and the seed', async () => {
    const { code, lease, output } = await udhcpc(target, 't0');
    expect(code, output).toBe(0);
    expect(lease?.serverid).toBe(SEED);
    expect(lease?.siaddr).toBe(SEED);
    expect(lease?.boot_file).toBe('undionly.kpxe');
    const last = Number(lease!.ip!.split('.')[3]);
    expect(lease!.ip!.startsWith('10.77.0.')).toBe(true);
    expect(last).toBeGreaterThanOrEqual(128);
    expect(last).toBeLessThanOrEqual(254);
  });

  it('names the UEFI binary to a UEFI ROM (client architecture 7) and the netboot script to iPXE', async () => {
    expect((await udhcpc(target, 't0', ['-x', '0x5d:0007'])).lease?.boot_file).toBe('ipxe.efi');
    // iPXE's user class (option 77) is "iPXE".
    expect((await udhcpc(target, 't0', ['-x', '0x4d:69505845'])).lease?.boot_file).toBe(`${URL}/netboot.ipxe`);
  });

  it('serves no DHCP on another interface of the seed', async () => {
    const { code, lease, output } = await udhcpc(stranger, 'o0');
    expect(lease, output).toBeNull();
    expect(code).not.toBe(0);
    expect(output).toContain('no lease');
  });

  it('serves the iPXE binaries over TFTP, the netboot script and files over HTTP', async () => {
    ip('-n', target, 'address', 'add', `${TARGET}/24`, 'dev', 't0');
    expect(curl(target, [`tftp://${SEED}/undionly.kpxe`]).body).toBe('stand-in iPXE for BIOS\n');
    expect(curl(target, [`tftp://${SEED}/ipxe.efi`]).body).toBe('stand-in iPXE for UEFI\n');
    // Nothing outside the TFTP root.
    expect(curl(target, [`tftp://${SEED}/../netboot/bzImage`]).body).not.toContain('stand-in kernel');
    const script = curl(target, [`${URL}/netboot.ipxe`]);
    expect(script.status).toBe(200);
    expect(script.body.split('\n')).toEqual([
      '#!ipxe',
      `kernel ${URL}/bzImage initrd=initrd init=/nix/store/00000000000000000000000000000000-nixos-system-netboot/init loglevel=4 nixos-offline-installer.fleet=${URL} nixos-offline-installer.fleet-secret=${secret}`,
      `initrd ${URL}/initrd`,
      'boot',
      '',
    ]);
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(curl(target, [`${URL}/bzImage`]).body).toBe('stand-in kernel\n');
    expect(curl(target, [`${URL}/initrd`]).body).toBe('stand-in initrd\n');
    expect(curl(target, [`${URL}/kernel-params`]).status).toBe(404);
  });

  it('runs dnsmasq on the fleet interface alone, with no DNS, from a file in its own state folder', async () => {
    const config = await readFile(join(dir, 'fleet', 'dnsmasq.conf'), 'utf8');
    expect(config.split('\n').filter((line) => line.startsWith('interface='))).toEqual(['interface=s0']);
    for (const line of ['bind-interfaces', 'except-interface=lo', 'port=0', 'enable-tftp', `tftp-root=${join(dir, 'fleet', 'tftp')}`, `user=${FLEET_USER}`]) expect(config.split('\n')).toContain(line);
    const cmdline = readFileSync(`/proc/${dnsmasqPid()}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain(`--conf-file=${join(dir, 'fleet', 'dnsmasq.conf')}`);
  });
});

describe('privileges', () => {
  it('runs dnsmasq and the HTTP front as the fleet user, with no capability but the network ones', () => {
    const front = pidsWith(join(dir, 'fleet', 'http.sock'));
    expect(front).toHaveLength(1);
    for (const pid of [dnsmasqPid(), front[0]!]) {
      const { uids, capEff } = credentials(pid);
      expect(uids, `pid ${pid}`).toEqual(Array(4).fill(userUid(FLEET_USER)));
      expect(uids[0]).not.toBe(0);
      // CAP_NET_BIND_SERVICE (10), CAP_NET_ADMIN (12), CAP_NET_RAW (13) at most: dnsmasq keeps the last two for DHCP.
      expect(capEff & ~((1n << 10n) | (1n << 12n) | (1n << 13n)), `pid ${pid} CapEff ${capEff.toString(16)}`).toBe(0n);
    }
    // Started within its unit's capability bounding set (setpriv, as the daemon's child), it still did all it does as root.
    expect(readFileSync(`/proc/${dnsmasqPid()}/status`, 'utf8')).toMatch(/^CapBnd:\s+0*34c1$/m);
    const said = daemon!.output().split('\n').filter((line) => line.includes('"source":"dnsmasq"'));
    expect(said.some((line) => line.includes('TFTP root is'))).toBe(true);
    expect(said.filter((line) => /failed|cannot|warning/i.test(line))).toEqual([]);
  });

  it("runs the store's sshd within its unit's capability bounding set", () => {
    const sshd = pidsWith(join(dir, 'fleet', 'ssh', 'sshd_config'));
    expect(sshd.length).toBeGreaterThan(0);
    // CAP_KILL (5), CAP_SETGID (6), CAP_SETUID (7), CAP_NET_BIND_SERVICE (10), CAP_SYS_CHROOT (18): storeUnit's set, as the daemon's child.
    for (const pid of sshd) expect(readFileSync(`/proc/${pid}/status`, 'utf8'), `pid ${pid}`).toMatch(/^CapBnd:\s+0*404e0$/m);
  });

  it("serves TFTP from the fleet's own copies, which the fleet user cannot change", async () => {
    const tftp = join(dir, 'fleet', 'tftp');
    expect(curl(target, [`tftp://${SEED}/undionly.kpxe`]).body).toBe('stand-in iPXE for BIOS\n');
    for (const path of [tftp, join(tftp, 'undionly.kpxe'), join(tftp, 'ipxe.efi')]) {
      const info = await stat(path);
      expect(info.uid, path).toBe(0);
      expect(info.mode & 0o022, path).toBe(0);
    }
    // The HTTP socket the front forwards to: the fleet user's and root's alone.
    const socket = await stat(join(dir, 'fleet', 'http.sock'));
    expect([socket.uid, socket.mode & 0o777]).toEqual([userUid(FLEET_USER), 0o600]);
  });
});

describe('registration', () => {
  it('refuses a target without the secret or with a wrong one', () => {
    for (const token of [null, 'f'.repeat(64), `${secret}0`]) {
      const refused = register(OWN_MAC, token);
      expect(refused.status).toBe(403);
      expect(JSON.parse(refused.body).error.code).toBe('bad-secret');
    }
    expect(curl(target, [`${URL}/targets`]).status).toBe(403);
  });

  it("gives a target its own answer file, the others the fleet's default", () => {
    const own = register(OWN_MAC, secret);
    expect(own.status, own.body).toBe(200);
    expect(JSON.parse(own.body)).toMatchObject({ target: { mac: OWN_MAC, state: 'waiting' }, answerFile: join(dir, 'answers', `${OWN_MAC}.json`), disk: '/dev/disk/by-id/own-disk' });
    const other = register(OTHER_MAC, secret);
    expect(JSON.parse(other.body)).toMatchObject({ target: { mac: OTHER_MAC, state: 'waiting' }, answerFile: join(dir, 'answers', 'default.json'), disk: '/dev/disk/by-id/default-disk' });
  });

  it('refuses a broken answer file, naming the file and the field, and shows the target as failed', () => {
    const broken = register(BROKEN_MAC, secret);
    expect(broken.status).toBe(422);
    const { error } = JSON.parse(broken.body);
    expect(error.field).toBe('layout');
    expect(error.title).toContain(join(dir, 'answers', `${BROKEN_MAC}.json`));
    expect(error.title).toContain('zfs-mirror');
    const status = curl(target, ['-H', `Authorization: Bearer ${secret}`, `${URL}/targets`]);
    const targets = JSON.parse(status.body).targets as { mac: string; state: string; error: { field?: string } | null }[];
    expect(targets.map((t) => t.mac)).toEqual([OWN_MAC, OTHER_MAC, BROKEN_MAC]);
    expect(targets[2]!.state).toBe('failed');
    expect(Object.keys(targets[0]!).sort()).toEqual(['bytesCopied', 'copyEndedMs', 'copyStartedMs', 'error', 'fraction', 'mac', 'phase', 'receipt', 'state']);
    expect(targets[2]!.error?.field).toBe('layout');
  });

  it('checks each target on the seed once it registered: a seed with no configuration refuses it, saying why', async () => {
    // This seed's daemon has no configuration folder (fleet-targets.test.ts checks and builds one).
    const failed = await waitForState(OTHER_MAC, 'failed');
    expect(failed.error).toMatchObject({ code: 'config-missing', title: 'No NixOS configuration found' });
    expect(failed.error.description).toContain(join(dir, 'no-config'));
  });

  it('refuses a registration without the hardware probe, or with one that is not a probe, naming the field', () => {
    const without = register('', secret, JSON.stringify({ mac: OWN_MAC }));
    expect(without.status).toBe(400);
    expect(JSON.parse(without.body).error.field).toBe('hardware');
    const noSet = register('', secret, JSON.stringify({ mac: OWN_MAC, hardware: { ...HARDWARE, config: 'rm -rf /' }, sealKey: SEAL.publicKey }));
    expect(JSON.parse(noSet.body).error.field).toBe('hardware.config');
    const firmware = register('', secret, JSON.stringify({ mac: OWN_MAC, hardware: { ...HARDWARE, firmware: 'coreboot' }, sealKey: SEAL.publicKey }));
    expect(JSON.parse(firmware.body).error.field).toBe('hardware.firmware');
    const escape = register('', secret, JSON.stringify({ mac: OWN_MAC, hardware: { ...HARDWARE, dmi: { ...HARDWARE.dmi, serial: '\u001b[2J' } }, sealKey: SEAL.publicKey }));
    expect(JSON.parse(escape.body).error.field).toBe('hardware.dmi.serial');
  });

  it('refuses a MAC that is not one, before any file is named by it', () => {
    for (const mac of ['../../etc/passwd', '52:54:00:00:00:0G', '52-54-00-00-00-01', '52:54:00:00:00:01/x']) {
      const refused = register(mac, secret);
      expect(refused.status, mac).toBe(400);
      expect(JSON.parse(refused.body).error.field).toBe('mac');
    }
    expect(register('', secret, 'x'.repeat(20 * 1024)).status).toBe(400);
    expect(register('', secret, JSON.stringify({ mac: OWN_MAC, disk: '/dev/sda' })).status).toBe(400);
  });
});

describe('refusals', () => {
  it('refuses a second fleet while one is served', async () => {
    const second = await runCli(serveArgs());
    expect(second.code).toBe(4);
    expect(second.events[0]?.data.error.code).toBe('busy');
  });

  it("refuses a fleet asked for on the socket group's socket: root's alone serves one", async () => {
    // The test daemon's socket group is root's (gid 0): a user in it reaches the group's socket, not root's.
    const user = await runCli(serveArgs(), { as: { uid: 4242, groups: [0] } });
    expect(user.code, user.stderr).toBe(4);
    expect(user.events[0]?.data.error.title).toBe('Only root may serve a fleet');
  });
});

describe('ending', () => {
  it('ends dnsmasq and the HTTP server when fleet serve is interrupted, and when the daemon stops', async () => {
    const pid = dnsmasqPid();
    const started = processStartTime(pid);
    serve!.signal('SIGINT');
    expect((await serve!.done).code).toBe(0);
    serve = null;
    await waitUntil(() => processStartTime(pid) !== started);
    expect(curl(target, [`${URL}/netboot.ipxe`]).code).not.toBe(0);

    // Refused while the interface lacks the address, or a boot file is missing.
    const wrong = await runCli(serveArgs().map((a) => (a === `${SEED}/24` ? '10.77.0.9/24' : a)));
    expect(wrong.events[0]?.data.error).toMatchObject({ code: 'fleet-refused', field: 'address' });
    const noIpxe = await runCli(serveArgs().map((a) => (a === join(dir, 'ipxe') ? join(dir, 'netboot') : a)));
    expect(noIpxe.events[0]?.data.error).toMatchObject({ code: 'fleet-refused', field: 'ipxe' });
    expect(noIpxe.events[0]?.data.error.title).toContain(join(dir, 'netboot', 'undionly.kpxe'));
    // Answer files decide which disks are wiped: a folder others may write to is refused.
    await chmod(join(dir, 'answers'), 0o777);
    const open = await runCli(serveArgs());
    await chmod(join(dir, 'answers'), 0o755);
    expect(open.events[0]?.data.error).toMatchObject({ code: 'fleet-refused', field: 'answers' });

    // Without --address: proxy DHCP beside the network's own server, from the interface's address (dnsmasq takes its PXE services).
    const proxy = startCli(serveArgs().filter((a, i, all) => a !== '--address' && all[i - 1] !== '--address'));
    const proxyReply = await proxy.waitFor((e) => e.type === 'reply');
    expect(proxyReply.data, JSON.stringify(proxyReply.data)).toMatchObject({ ok: true, fleet: { proxy: true, range: null, url: URL, address: `${SEED}/24`, storePort: Number(PORT) + 1 } });
    expect((await readFile(join(dir, 'fleet', 'dnsmasq.conf'), 'utf8')).split('\n')).toContain('dhcp-range=10.77.0.0,proxy,255.255.255.0');
    expect(processStartTime(dnsmasqPid())).not.toBeNull();
    proxy.signal('SIGINT');
    expect((await proxy.done).code).toBe(0);

    // dnsmasq ending by itself ends the fleet, and fleet serve says so.
    await startServing();
    const lost = dnsmasqPid();
    process.kill(lost, 'SIGKILL');
    const ended = await serve!.done;
    serve = null;
    expect(ended.code).toBe(3);
    expect(curl(target, [`${URL}/netboot.ipxe`]).code).not.toBe(0);

    // cancel from the socket group's socket leaves the fleet alone; root's ends it: both servers and their children.
    await startServing();
    const dnsmasq = dnsmasqPid();
    const dnsmasqStarted = processStartTime(dnsmasq);
    const front = pidsWith(join(dir, 'fleet', 'http.sock'))[0]!;
    const frontStarted = processStartTime(front);
    const byUser = await runCli(['cancel', '--socket', daemon!.socket, '--json'], { as: { uid: 4242, groups: [0] } });
    expect(byUser.code).not.toBe(0);
    expect(curl(target, [`${URL}/netboot.ipxe`]).status).toBe(200);
    const sshd = pidsWith(join(dir, 'fleet', 'ssh', 'sshd_config'))[0]!;
    const sshdStarted = processStartTime(sshd);
    const byRoot = await runCli(['cancel', '--socket', daemon!.socket]);
    expect(byRoot.code, byRoot.stdout + byRoot.stderr).toBe(0);
    // It says what it ended: the fleet, not an install (none ran).
    expect(byRoot.stdout).toContain('the fleet was ended');
    expect(byRoot.stdout).not.toContain('the install stops');
    expect((await serve!.done).code).toBe(3);
    serve = null;
    expect(processStartTime(dnsmasq)).not.toBe(dnsmasqStarted);
    expect(processStartTime(front)).not.toBe(frontStarted);
    expect(processStartTime(sshd)).not.toBe(sshdStarted);
    expect(curl(target, [`${URL}/netboot.ipxe`]).code).not.toBe(0);

    await startServing();
    const again = dnsmasqPid();
    const againStarted = processStartTime(again);
    expect(againStarted).not.toBeNull();
    await daemon!.stop();
    expect(processStartTime(again)).not.toBe(againStarted);
    expect((await serve!.done).code).toBe(3);
    serve = null;
  });
});

function credentials(pid: number): { uids: number[]; capEff: bigint } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { uids: /^Uid:\s+(.*)$/m.exec(status)![1]!.trim().split(/\s+/).map(Number), capEff: BigInt(`0x${/^CapEff:\s+(\w+)$/m.exec(status)![1]}`) };
}

function userUid(name: string): number {
  const entry = readFileSync('/etc/passwd', 'utf8').split('\n').map((l) => l.split(':')).find((f) => f[0] === name);
  if (!entry) throw new Error(`user ${name} is not on this test bed: Debian's dnsmasq-base makes it (scripts/bed-packages.sh)`);
  return Number(entry[2]);
}

async function waitForState(mac: string, state: string): Promise<any> {
  let found: any = null;
  await waitUntil(() => {
    const status = curl(target, ['-H', `Authorization: Bearer ${secret}`, `${URL}/targets`]);
    found = (JSON.parse(status.body).targets as any[]).find((t) => t.mac === mac);
    return found?.state === state;
  });
  return found;
}

async function waitUntil(check: () => boolean): Promise<void> {
  const deadline = Date.now() + README_STOP_DEADLINE_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

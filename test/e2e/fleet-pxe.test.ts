// A real PXE ROM against the seed: QEMU (TCG; no KVM here) boots a machine
// whose network card carries iPXE's ROM (Debian's ipxe-qemu, the ROM QEMU
// loads for the card) on the fleet's network, through SeaBIOS. It asks for an address by
// DHCP, from the seed's dnsmasq or, in proxy mode, from the LAN's own server
// with the seed's proxy DHCP beside it, fetches the seed's netboot script
// over HTTP and runs it with real iPXE, which fetches the kernel and initrd
// and boots the kernel: here a stand-in iPXE script (no Linux kernel can be
// built here) that says it ran. The script's own words (the kernel's command
// line with the fleet's URL and secret) are checked in fleet-serve.test.ts.
// A UEFI machine (OVMF, its card without a ROM) boots with the firmware's own
// PXE: its DHCP as a UEFI client, then iPXE's UEFI binary (Debian's ipxe.efi)
// from the seed over TFTP, which boots the seed's script as above. SeaBIOS'
// card ROM is iPXE itself, so the TFTP step a plain BIOS PXE ROM takes first
// (undionly.kpxe) is not run here; curl fetches it in fleet-serve.test.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type CliHandle } from '../helpers/cli.js';
import { cleanUp, type RunningDaemon } from '../helpers/daemon.js';
import { scratch } from '../helpers/env.js';
import { fleetBed } from '../helpers/fleet.js';
import { ip, netnsCommand, Namespaces } from '../helpers/netns.js';

const NET = '10.81.0';
const PORT = '8476';
const URL = `http://${NET}.1:${PORT}`;
// SeaBIOS (or OVMF), the ROM's DHCP and the script under TCG on a loaded machine.
const BOOT_DEADLINE_MS = 120_000;
const UEFI_BOOT_DEADLINE_MS = 240_000;
// Debian's OVMF (ovmf) and iPXE's UEFI binary (ipxe), as the beds install them.
const OVMF_CODE = '/usr/share/OVMF/OVMF_CODE_4M.fd';
const OVMF_VARS = '/usr/share/OVMF/OVMF_VARS_4M.fd';
const IPXE_EFI = '/usr/lib/ipxe/ipxe.efi';
const MARKER = 'NOI-STAND-IN-KERNEL';

let dir: string;
let daemon: RunningDaemon | null = null;
let serve: CliHandle | null = null;
let lan: ChildProcess | null = null;
const ns = new Namespaces();
let target: string;
let serveArgs: string[];

beforeAll(async () => {
  dir = await scratch('fleet-pxe');
  ({ target, daemon, serveArgs } = await fleetBed(dir, ns, NET, PORT));
  // The stand-in kernel: an iPXE script, which iPXE runs when the seed's script says boot; imgstat shows the
  // initrd the seed's script loaded beside it.
  await writeFile(join(dir, 'netboot', 'bzImage'), `#!ipxe\necho ${MARKER} begins\nimgstat\necho ${MARKER} ends\n`);
  // The machine's card on the fleet's network: a tap in the target's namespace, bridged with its end of the link.
  ip('-n', target, 'address', 'flush', 'dev', 't0');
  ip('-n', target, 'link', 'add', 'br0', 'type', 'bridge');
  ip('-n', target, 'link', 'set', 't0', 'master', 'br0');
  ip('-n', target, 'tuntap', 'add', 'tap0', 'mode', 'tap');
  ip('-n', target, 'link', 'set', 'tap0', 'master', 'br0');
  ip('-n', target, 'link', 'set', 'tap0', 'up');
  ip('-n', target, 'link', 'set', 'br0', 'up');
});

// The LAN's DHCP server ends with its test: a machine booted later takes the first offer, which may be its.
afterEach(async () => {
  serve?.signal('SIGINT');
  await serve?.done;
  serve = null;
  lan?.kill('SIGTERM');
  lan = null;
});

afterAll(async () => {
  await cleanUp(dir, daemon);
  ns.remove();
});

// Boots the machine (SeaBIOS and the card's iPXE ROM, or OVMF and its own PXE) until the stand-in kernel has shown
// its images (or the deadline), and returns its console.
async function bootMachine(mac: string, firmware: 'bios' | 'uefi' = 'bios'): Promise<string> {
  const card = `virtio-net-pci,netdev=n0,mac=${mac},bootindex=0`;
  const machine =
    firmware === 'bios'
      ? // The card's own ROM, as QEMU loads it (Debian's ipxe-qemu: efi-virtio.rom, iPXE for BIOS and UEFI), first to boot.
        ['-machine', 'pc,accel=tcg', '-m', '128', '-device', card]
      : // No ROM on the card: OVMF's own virtio driver and PXE, so no iPXE runs before the one the seed sends. The
        // variables are the firmware's to write, a copy of this test's. A random number generator: OVMF from
        // edk2 2025.02 on (Debian 13's) offers no network boot without one (its NEWS.Debian).
        ['-machine', 'q35,accel=tcg', '-m', '256', '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF_CODE}`, '-drive', `if=pflash,format=raw,unit=1,file=${await copiedVars(mac)}`, '-device', `${card},romfile=`, '-device', 'virtio-rng-pci'];
  return new Promise((resolve) => {
    const [file, ...args] = netnsCommand(target, [
      'qemu-system-x86_64', '-nodefaults', '-nographic', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
      '-netdev', 'tap,id=n0,ifname=tap0,script=no,downscript=no', ...machine,
    ]);
    const qemu = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let console = '';
    const done = () => {
      clearTimeout(timer);
      qemu.kill('SIGKILL');
      resolve(console);
    };
    const timer = setTimeout(done, firmware === 'bios' ? BOOT_DEADLINE_MS : UEFI_BOOT_DEADLINE_MS);
    for (const stream of [qemu.stdout, qemu.stderr]) {
      stream.on('data', (chunk: Buffer) => {
        console += chunk.toString('latin1');
        if (console.includes(`${MARKER} ends`)) done();
      });
    }
    qemu.on('exit', () => {
      clearTimeout(timer);
      resolve(console);
    });
  });
}

async function copiedVars(mac: string): Promise<string> {
  const vars = join(dir, `ovmf-vars-${mac.replaceAll(':', '')}.fd`);
  await copyFile(OVMF_VARS, vars);
  return vars;
}

async function serveFleet(args: string[]): Promise<string> {
  serve = startCli(['fleet', 'serve', '--socket', daemon!.socket, '--json', ...args]);
  const reply = await serve.waitFor((e) => e.type === 'reply');
  expect(reply.data, JSON.stringify(reply.data)).toMatchObject({ ok: true });
  return reply.data.fleet.secret;
}

// What the machine's console shows when iPXE booted the seed's script, kernel and initrd, in this order.
function bootedFromSeed(console: string): void {
  inOrder(console, ['Filename: ' + URL + '/netboot.ipxe', `${URL}/netboot.ipxe... ok`, `${URL}/bzImage... ok`, `${URL}/initrd... ok`, `${MARKER} begins`, 'initrd : 16 bytes', `${MARKER} ends`]);
}

// Each of STEPS in CONSOLE, each after the one before.
function inOrder(console: string, steps: string[]): void {
  let from = 0;
  for (const step of steps) {
    const at = console.indexOf(step, from);
    expect(at, `"${step}" after "${console.slice(0, from).split('\n').at(-1)}" in:\n${console}`).toBeGreaterThanOrEqual(0);
    from = at + step.length;
  }
}

describe('a real PXE ROM (iPXE in QEMU) boots from the seed', () => {
  it("with the seed's DHCP: an address, the netboot script, kernel and initrd over HTTP, the kernel booted", async () => {
    await serveFleet(serveArgs);
    const console = await bootMachine('52:54:00:00:81:01');
    // Its address from the seed's DHCP (the seed as gateway and next server).
    expect(console, console).toMatch(new RegExp(`net0: ${NET.replaceAll('.', '\\.')}\\.[0-9]+/255\\.255\\.255\\.0 gw ${NET.replaceAll('.', '\\.')}\\.1`));
    bootedFromSeed(console);
  }, BOOT_DEADLINE_MS + 30_000);

  it("beside the LAN's own DHCP server: the address from the LAN, the boot from the seed's proxy DHCP", async () => {
    // The LAN's server: a plain dnsmasq in a namespace of its own on the same network, leasing .100-.150 and
    // knowing nothing of network boot.
    const lanNs = ns.add('lan');
    ns.link(lanNs, 'l0', target, 'tl0');
    ip('-n', target, 'link', 'set', 'tl0', 'master', 'br0');
    ip('-n', lanNs, 'address', 'add', `${NET}.2/24`, 'dev', 'l0');
    const [file, ...args] = netnsCommand(lanNs, ['dnsmasq', '--keep-in-foreground', '--no-daemon', '--port=0', '--interface=l0', '--bind-interfaces', '--no-hosts', '--no-resolv', `--dhcp-range=${NET}.100,${NET}.150,255.255.255.0,1h`, `--dhcp-leasefile=${join(dir, 'lan.leases')}`, `--pid-file=${join(dir, 'lan.pid')}`, '--log-dhcp', '--log-facility=-']);
    lan = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lanLog = '';
    lan.stderr!.on('data', (d: Buffer) => (lanLog += d.toString()));
    await serveFleet(serveArgs.filter((a, i, all) => a !== '--address' && all[i - 1] !== '--address'));
    const console = await bootMachine('52:54:00:00:81:02');
    // The address came from the LAN's server (gateway .2), not the seed; the boot from the seed's PXE service.
    expect(console, `${console}\n--- the LAN's dnsmasq:\n${lanLog}`).toMatch(new RegExp(`net0: ${NET.replaceAll('.', '\\.')}\\.1[0-5][0-9]/255\\.255\\.255\\.0 gw ${NET.replaceAll('.', '\\.')}\\.2`));
    expect(lanLog).toMatch(/DHCPACK\(l0\) [0-9.]+ 52:54:00:00:81:02/);
    expect(console).toContain('Next server: ' + NET + '.1');
    bootedFromSeed(console);
  }, BOOT_DEADLINE_MS + 30_000);

  it("a UEFI machine's own PXE (OVMF): iPXE's UEFI binary from the seed over TFTP, which boots the script, kernel and initrd", async () => {
    // The seed serves what --ipxe holds: here the real UEFI binary in place of the stand-in.
    await copyFile(IPXE_EFI, join(serveArgs[serveArgs.indexOf('--ipxe') + 1]!, 'ipxe.efi'));
    await serveFleet(serveArgs);
    const console = await bootMachine('52:54:00:00:81:03', 'uefi');
    // The firmware's PXE took an address and a boot file from the seed's DHCP as a UEFI client (the BIOS binary
    // would not load), fetched it by TFTP and ran it: iPXE, which no ROM here carries.
    inOrder(console, ['Start PXE over IPv4', 'Station IP address is ' + NET + '.', 'NBP filename is ipxe.efi', 'NBP file downloaded successfully', 'iPXE initialising devices']);
    bootedFromSeed(console);
  }, UEFI_BOOT_DEADLINE_MS + 30_000);
});

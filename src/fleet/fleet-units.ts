// How the fleet's three network servers run. The install daemon's own unit opens
// no IP socket (RestrictAddressFamilies=AF_UNIX, IPAddressDeny=any) and is not
// widened for the fleet: dnsmasq (DHCP, TFTP), the HTTP front
// (systemd-socket-activate + systemd-socket-proxyd, forwarding to the daemon's
// HTTP server on a Unix socket in the fleet's folder) and the store's sshd
// (Nix's ssh-ng for the targets, src/fleet/sshd.ts) each run in a transient
// unit of their own (systemd-run) with the properties below, when the daemon
// runs under systemd (NOI_FLEET_UNITS=systemd, set by the NixOS module).
// Otherwise (a daemon started by hand, the tests) they are its children.
import type { Ipv4Network } from './network.js';
import { toAddress } from '../protocol/ipv4.js';
import { bounds } from './network.js';

export type FleetUnitMode = 'direct' | 'systemd';
export const FLEET_UNIT_MODES: readonly FleetUnitMode[] = ['direct', 'systemd'];

export const DHCP_UNIT = 'nixos-offline-installer-fleet-dhcp';
export const HTTP_UNIT = 'nixos-offline-installer-fleet-http';
export const STORE_UNIT = 'nixos-offline-installer-fleet-store';
export const FLEET_UNITS = [STORE_UNIT, HTTP_UNIT, DHCP_UNIT] as const;
const SERVES: Record<string, string> = { [DHCP_UNIT]: 'DHCP and TFTP', [HTTP_UNIT]: 'HTTP', [STORE_UNIT]: 'store (sshd)' };
export const DAEMON_UNIT = 'nixos-offline-installer.service';

// One unit property and why it is safe (or needed), as the NixOS module comments its options. Every key is
// one systemd takes for a transient unit (its docs/TRANSIENT-SETTINGS.md; ProtectHostname from bus-unit-util.c).
export interface UnitProperty {
  key: string;
  value: string;
  why: string;
}

// What both servers share: they serve the fleet's network and nothing else.
function common(net: Ipv4Network): UnitProperty[] {
  const network = `${toAddress(bounds(net).network)}/${net.prefix}`;
  return [
    { key: 'BindsTo', value: DAEMON_UNIT, why: "The fleet is the daemon's: it ends when the daemon stops (its KillMode= does not reach a unit of its own)." },
    { key: 'After', value: DAEMON_UNIT, why: 'Stopped before the daemon, so the daemon sees its servers end first.' },
    { key: 'IPAddressDeny', value: 'any', why: 'No IP traffic but with the fleet\'s network (IPAddressAllow=).' },
    { key: 'IPAddressAllow', value: `${network} 0.0.0.0/32 255.255.255.255/32`, why: "The fleet's network; a booting machine has no address yet (0.0.0.0) and DHCP answers it by broadcast." },
    { key: 'NoNewPrivileges', value: 'yes', why: 'Nothing it runs is setuid; dnsmasq only drops privileges.' },
    { key: 'ProtectSystem', value: 'strict', why: "It writes nothing but the fleet's folder (ReadWritePaths=)." },
    { key: 'ProtectHome', value: 'yes', why: 'No home folder holds anything it serves.' },
    { key: 'PrivateTmp', value: 'yes', why: 'It uses no temporary files.' },
    { key: 'PrivateDevices', value: 'yes', why: 'It opens no device: sockets and files only.' },
    { key: 'ProtectKernelTunables', value: 'yes', why: 'It changes no sysctl; dnsmasq reads interfaces over netlink.' },
    { key: 'ProtectKernelModules', value: 'yes', why: 'It loads no module.' },
    { key: 'ProtectKernelLogs', value: 'yes', why: "It reads no kernel log." },
    { key: 'ProtectControlGroups', value: 'yes', why: 'It changes no control group.' },
    { key: 'ProtectClock', value: 'yes', why: 'It sets no clock (it opens no device either: PrivateDevices=).' },
    { key: 'ProtectHostname', value: 'yes', why: 'It sets no host name.' },
    { key: 'RestrictNamespaces', value: 'yes', why: 'It makes no namespace.' },
    { key: 'RestrictRealtime', value: 'yes', why: 'It asks for no realtime scheduling.' },
    { key: 'RestrictSUIDSGID', value: 'yes', why: 'It makes no setuid or setgid file.' },
    { key: 'LockPersonality', value: 'yes', why: 'It runs native code only.' },
    { key: 'MemoryDenyWriteExecute', value: 'yes', why: 'dnsmasq and the systemd tools are compiled C: no JIT.' },
    { key: 'SystemCallArchitectures', value: 'native', why: 'Native binaries only.' },
  ];
}

// dnsmasq starts as root to bind ports 67 and 69, hands its pid file to the fleet's user, then drops to
// that user (user=, group=), keeping only CAP_NET_ADMIN (ARP entries for clients with no address yet) and
// CAP_NET_RAW (its ping check). As the daemon's child it gets the same bounding set (server-process.ts).
export function dhcpUnit(net: Ipv4Network, stateDir: string): UnitProperty[] {
  return [
    ...common(net),
    { key: 'CapabilityBoundingSet', value: 'CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_NET_ADMIN CAP_SETUID CAP_SETGID CAP_CHOWN', why: 'Ports 67 and 69, its ping check, ARP entries; dropping to the fleet user and giving it the pid file first (it warns otherwise). It keeps only the network two once dropped; no CAP_DAC_OVERRIDE: it reads only root\'s own and world-readable files.' },
    { key: 'RestrictAddressFamilies', value: 'AF_INET AF_INET6 AF_NETLINK AF_UNIX', why: 'DHCP and TFTP (IPv4; it probes IPv6 at start), netlink for the interfaces and their addresses, Unix for the user lookup (nscd).' },
    { key: 'ReadWritePaths', value: stateDir, why: 'Its leases and pid file are in the fleet\'s folder.' },
  ];
}

// The HTTP front only listens and forwards: the fleet's user, no capability but a port below 1024 (--port 80).
export function httpUnit(net: Ipv4Network, user: { name: string; group: string }): UnitProperty[] {
  return [
    ...common(net),
    { key: 'User', value: user.name, why: "Not root: it needs no file but the daemon's HTTP socket, which is this user's." },
    { key: 'Group', value: user.group, why: "The fleet user's own group." },
    { key: 'CapabilityBoundingSet', value: 'CAP_NET_BIND_SERVICE', why: 'Only a port below 1024, if --port names one.' },
    { key: 'AmbientCapabilities', value: 'CAP_NET_BIND_SERVICE', why: 'Given to the unprivileged user for that port alone.' },
    { key: 'RestrictAddressFamilies', value: 'AF_INET AF_UNIX', why: 'The listening socket (IPv4) and the connection to the daemon (Unix).' },
  ];
}

// sshd runs as root: it authenticates, then its privilege-separated child runs as sshd's own user in a
// chroot, and the one key's forced command drops (setpriv) to the store user for nix-daemon --stdio,
// which reaches the seed's nix-daemon over its Unix socket as an untrusted client.
export function storeUnit(net: Ipv4Network, stateDir: string): UnitProperty[] {
  return [
    ...common(net),
    { key: 'CapabilityBoundingSet', value: 'CAP_NET_BIND_SERVICE CAP_SETUID CAP_SETGID CAP_SYS_CHROOT CAP_KILL', why: 'A port below 1024 if --port names one; changing to sshd\'s user and (setpriv) the store user; the privilege-separation chroot; ending its own unprivileged child. No CAP_DAC_OVERRIDE: its files are root\'s own.' },
    { key: 'RestrictAddressFamilies', value: 'AF_INET AF_UNIX', why: 'The listening socket (IPv4), and nix-daemon\'s Unix socket for the forced command (plus the user lookup).' },
    { key: 'ReadWritePaths', value: stateDir, why: 'Its pid file is in the fleet\'s folder; the store is only read, through nix-daemon.' },
  ];
}

// systemd-run's argv that runs COMMAND as UNIT with PROPERTIES, its output on the daemon's pipes, until it ends.
export function systemdRun(unit: string, properties: readonly UnitProperty[], command: readonly string[]): string[] {
  return ['--unit', unit, '--description', `NixOS offline installer: the fleet's ${SERVES[unit] ?? unit} server`, '--pipe', '--wait', '--quiet', '--collect', '--service-type=exec', ...properties.flatMap((p) => ['--property', `${p.key}=${p.value}`]), '--', ...command];
}

// The unit as a file (for systemd-analyze verify and the reader): the same properties.
export function unitFile(unit: string, properties: readonly UnitProperty[], command: readonly string[]): string {
  const unitKeys = new Set(['BindsTo', 'After']);
  const lines = (inService: boolean) => properties.filter((p) => unitKeys.has(p.key) !== inService).flatMap((p) => [`# ${p.why}`, `${p.key}=${p.value}`]);
  return ['[Unit]', `Description=${unit}`, ...lines(false), '', '[Service]', 'Type=exec', `ExecStart=${command.join(' ')}`, ...lines(true), ''].join('\n');
}

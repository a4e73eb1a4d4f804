// The fleet's words on the socket and on its HTTP endpoint: the fleet-serve
// request, what its reply says, and each target's entry in the status JSON
// (GET /targets, `fleet status --json`), and what targets send the seed.
// Self-contained but for the shared defaults and IPv4 forms (messages.ts imports it), so it repeats the two fields every request has.
import { INSTALLER_DEFAULTS } from './installer-defaults.js';
import type { DiskoFacts, FlakeInput } from './config-facts.js';
import { isIpv4 } from './ipv4.js';
import type { Sealed } from './sealed.js';

export const FLEET_TARGET_STATES = ['waiting', 'checking', 'installing', 'succeeded', 'failed'] as const;
export type FleetTargetState = (typeof FLEET_TARGET_STATES)[number];

// The port the seed's HTTP server listens on unless --port says otherwise (the NixOS module opens it).
export const DEFAULT_FLEET_PORT = INSTALLER_DEFAULTS.fleet.port;
// The seed's store (sshd) listens on the HTTP port plus this (the NixOS module opens both).
export const STORE_PORT_OFFSET = INSTALLER_DEFAULTS.fleet.storePortOffset;

// Serve a fleet on one interface until this connection closes (root's socket only).
export interface FleetServeRequest {
  v: number;
  id: string;
  interface: string;
  // The seed's own address and prefix on the interface (DHCP); without it, proxy DHCP beside the LAN's server.
  address?: string;
  // Folder of answer files: <mac>.json, else default.json.
  answers: string;
  port?: number;
  ipxe?: string;
  netboot?: string;
}

export interface FleetInfo {
  // http://<seed>:<port>, the address targets are told on their kernel command line.
  url: string;
  interface: string;
  address: string;
  proxy: boolean;
  // The secret a target must send to register; only root (who asked) learns it here.
  secret: string;
  stateDir: string;
  // The range DHCP leases from (null with proxy DHCP).
  range: { start: string; end: string } | null;
  // The port of the seed's store over ssh-ng (sshd, on the same address): the HTTP port + the table's fleet.storePortOffset.
  storePort: number;
}

// The seed's URL in its one form, http://<IPv4>:<port> as fleet serve prints it, or null when TEXT is not one.
// The CLI and the daemon take it with or without the port (the default) and a trailing slash.
export function seedUrl(text: string): string | null {
  const found = /^http:\/\/([0-9.]{7,15})(?::([0-9]{1,5}))?\/?$/.exec(text);
  if (!found) return null;
  const [, host, port = String(DEFAULT_FLEET_PORT)] = found;
  if (!isIpv4(host!) || Number(port) < 1 || Number(port) > 65535) return null;
  return `http://${host}:${Number(port)}`;
}

// The live page's address: the secret in the fragment, which a browser keeps to itself (the page's script sends it as a header).
export function livePageUrl(url: string, secret: string): string {
  return `${url}/#${secret}`;
}

// <stateDir>/fleet.json (root's alone): how `fleet status` on the seed finds the fleet's URL and secret.
export const FLEET_FILE = 'fleet.json';

// The fleet's own state folder (the table's fleet.stateDir; NOI_FLEET_DIR, as the daemon's --fleet-dir, overrides it).
export function fleetStateDir(env: Record<string, string | undefined> = process.env): string {
  return env.NOI_FLEET_DIR || INSTALLER_DEFAULTS.fleet.stateDir;
}

export interface TargetError {
  code: string;
  title: string;
  description: string;
  field?: string;
}

// What a target says of its machine when it registers: the seed prepares and checks its system from this.
export interface TargetHardware {
  // nixos-generate-config --show-hardware-config --no-filesystems, run on the target (the seed adds the layout's file systems).
  config: string;
  // How the target booted (the layout must fit it).
  firmware: 'efi' | 'bios';
  // /sys/class/dmi/id's sys_vendor, product_name and product_serial, where readable (null where not).
  dmi: { vendor: string | null; product: string | null; serial: string | null };
}

// POST /targets.
export interface FleetRegistration {
  mac: string;
  hardware: TargetHardware;
  // The public half of the key the target made for this install: the go's secrets are sealed to it (sealed.ts).
  sealKey: string;
}

// How far a target got: the install's phase (the seed's own while checking: hardware, validate, build),
// its fraction 0..1, the copy's figures and, once it failed, why.
export interface TargetProgress {
  phase: string | null;
  fraction: number;
  bytesCopied: number;
  copyStartedMs: number | null;
  copyEndedMs: number | null;
  error: TargetError | null;
}

// POST /targets/<mac>/report: how far the target got (state installing), or its end (succeeded, with its receipt; failed, with why).
export interface FleetReport extends TargetProgress {
  state: 'installing' | 'succeeded' | 'failed';
  // The receipt as the target wrote it (succeeded only); the seed keeps it as a file and lists its path.
  receipt?: Record<string, unknown>;
}

// With the go (GET /targets/<mac>): where the target copies its system from, over Nix's ssh-ng (the key is in its sealed part).
export interface SeedStoreAccess {
  host: string;
  port: number;
  user: string;
  // The seed's host key ("ssh-ed25519 AAAA..."), for known_hosts.
  hostKey: string;
}

// GET /targets/<mac>'s "go", once the seed checked and built the target's system.
export interface FleetGo {
  system: string;
  closureBytes: number;
  closurePaths: number;
  // "sha256:<hex>" over the closure's "<path> <NAR hash>" lines sorted by path (src/nix/closure-hash.ts): the
  // target computes it from its own store after the copy and stops if it differs.
  closureHash: string;
  // Each path of that closure with its NAR size (nix path-info's): the target counts its copy's bytes by them.
  closure: { path: string; narSize: number }[];
  // What the seed's check of this target warned of ("[source] line"), for the receipt.
  checkWarnings: string[];
  // The answer file as the seed read it (src/common/answers.ts's Answers: disk, layout, wipe, user, then, choices), its
  // passwordHash in the sealed part.
  answers: Record<string, unknown>;
  store: SeedStoreAccess;
  // The fleet's store key, the password hash and a LUKS passphrase, sealed to the target's sealKey (sealed.ts).
  sealed: Sealed;
  // A flake configuration's locked inputs (in the closure above): copied with the system and kept from garbage
  // collection on the target, so its /etc/nixos flake rebuilds offline. Empty for a classic configuration.
  flakeInputs: FlakeInput[];
  // A configuration that lays out its disks with disko: its format and mount scripts (built in the seed's store; the
  // target copies them into its own and runs them on the disk they name), disks and mount point. Null with a layout.
  disko: DiskoFacts | null;
}

// The keys of each target in the status JSON, in this order (issue 28 gives them).
export const FLEET_TARGET_KEYS = ['mac', 'state', 'phase', 'fraction', 'bytesCopied', 'copyStartedMs', 'copyEndedMs', 'error', 'receipt'] as const;

export interface FleetTarget extends TargetProgress {
  mac: string;
  state: FleetTargetState;
  // The path of the target's receipt on the seed, once it succeeded.
  receipt: string | null;
}

export interface FleetStatus {
  targets: FleetTarget[];
}

// What a secret may be, given back: printable ASCII without spaces, bounded.
export const SECRET = '[!-~]{1,256}';

// The secret a --secret-file holds (its one line, as fleet serve printed it), or null when it holds none.
export function secretInFile(text: string): string | null {
  const secret = text.trim();
  return new RegExp(`^${SECRET}$`).test(secret) ? secret : null;
}

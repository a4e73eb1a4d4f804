// The fleet's words on the socket and on its HTTP endpoint: the fleet-serve
// request, what its reply says, and each target's entry in the status JSON
// (GET /targets, later `fleet status --json`).
// Self-contained but for the shared defaults (messages.ts imports it), so it repeats the two fields every request has.
import { INSTALLER_DEFAULTS } from './installer-defaults.js';

export const FLEET_TARGET_STATES = ['waiting', 'checking', 'installing', 'succeeded', 'failed'] as const;
export type FleetTargetState = (typeof FLEET_TARGET_STATES)[number];

// The port the seed's HTTP server listens on unless --port says otherwise (the NixOS module opens it).
export const DEFAULT_FLEET_PORT = INSTALLER_DEFAULTS.fleet.port;

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
}

export interface FleetTarget {
  mac: string;
  state: FleetTargetState;
  // Later slices: the install's phase, progress and copy figures, and its receipt.
  phase: string | null;
  fraction: number;
  bytesCopied: number;
  copyStartedMs: number | null;
  copyEndedMs: number | null;
  error: { code: string; title: string; description: string; field?: string } | null;
  receipt: unknown;
}

export interface FleetStatus {
  targets: FleetTarget[];
}

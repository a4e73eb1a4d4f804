// The daemon's defaults (its socket, folders, log level), what the NixOS module
// and the unit give it (the socket group, the eval user), and the Calamares
// module's timeouts. One table, nix/installer-defaults.json, serves this code,
// the Calamares module and the Nix files; the unit is checked against it.
import { readNixTable } from './nix-table.js';

export interface InstallerDefaults {
  daemon: { socket: string; configDirs: string[]; nixosExpr: string; logDir: string; logLevel: string; logLevels: string[]; channelProfile: string; evalHome: string };
  // Without them the daemon lets only root use its socket and evaluates as root.
  service: { socketGroup: string; evalUser: string };
  calamares: { connectTimeout: number; idleTimeout: number; checkTimeout: number };
  // A fleet's own folder, the user its servers run as, its HTTP port, the store's (sshd's) port as an offset from it,
  // where the ISO carries the boot files (nix/iso.nix), and the kernel command line's parameters that tell a
  // netbooted target its seed and the fleet's secret (src/fleet/boot-files.ts, nix/netboot.nix, the CLI).
  fleet: { stateDir: string; user: string; port: number; storePortOffset: number; ipxeDir: string; netbootDir: string; urlParam: string; secretParam: string };
}

export const INSTALLER_DEFAULTS: InstallerDefaults = readNixTable<InstallerDefaults>('installer-defaults.json', (data) => {
  const d = data?.daemon;
  if (!d || typeof d !== 'object') return 'no "daemon" object';
  const text = ['socket', 'nixosExpr', 'logDir', 'logLevel', 'channelProfile', 'evalHome'] as const;
  const missing = text.find((key) => typeof d[key] !== 'string');
  if (missing !== undefined) return `daemon.${missing} is not a string`;
  // pino refuses a level it does not know when the logger is made.
  if (!Array.isArray(d.logLevels) || !d.logLevels.every((level) => typeof level === 'string') || !d.logLevels.includes(d.logLevel)) return 'daemon.logLevels is not a list of level names holding daemon.logLevel';
  if (!Array.isArray(d.configDirs) || !d.configDirs.every((dir) => typeof dir === 'string' && dir.startsWith('/'))) return 'daemon.configDirs is not a list of absolute paths';
  if (typeof data.service?.socketGroup !== 'string' || typeof data.service.evalUser !== 'string') return 'service.socketGroup and service.evalUser must be strings';
  const fleet = data.fleet;
  const fleetMissing = (['stateDir', 'user', 'ipxeDir', 'netbootDir', 'urlParam', 'secretParam'] as const).find((key) => typeof fleet?.[key] !== 'string');
  if (fleetMissing !== undefined) return `fleet.${fleetMissing} is not a string`;
  if (!Number.isInteger(fleet.port) || fleet.port < 1 || fleet.port > 65535) return 'fleet.port is not a port number';
  if (!Number.isInteger(fleet.storePortOffset) || fleet.storePortOffset < 1 || fleet.port + fleet.storePortOffset > 65535) return 'fleet.storePortOffset is not a positive offset from fleet.port to a port number';
  return null;
});

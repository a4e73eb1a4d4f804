// The daemon's settings, from its flags and then the environment (the NixOS
// module sets the environment; tests and people use flags).
import { resolve } from 'node:path';
import { INSTALLER_DEFAULTS } from '../protocol/installer-defaults.js';
import { groupIdOf, passwdIds } from '../common/accounts.js';
import type { JobSettings } from '../common/context.js';
import type { EvalUser } from '../nix/eval-user.js';
import type { LogLevel } from '../log/logger.js';
import type { FleetSettings } from '../fleet/fleet-server.js';
import { FLEET_UNIT_MODES, type FleetUnitMode } from '../fleet/fleet-units.js';
import { fleetStateDir } from '../protocol/fleet.js';

export interface DaemonOptions extends JobSettings {
  socketPath: string;
  logDir: string;
  logLevel: LogLevel;
  // Who evaluates configurations (src/nix/eval-user.ts); null: root, with restrict-eval only.
  evalUser: EvalUser | null;
  fleet: FleetSettings;
}

export class OptionError extends Error {}

// nix/installer-defaults.json. evalHome is in the unit's StateDirectory: not
// /tmp, where other users could have made it first.
const DEFAULTS = INSTALLER_DEFAULTS.daemon;

// NAME's uid and primary gid from the passwd file.
export function userIds(name: string, passwdFile = '/etc/passwd'): { uid: number; gid: number } {
  const ids = passwdIds(name, passwdFile);
  if (ids) return ids;
  throw new OptionError(`eval user "${name}" does not exist in ${passwdFile}; create it (the NixOS module does: users.users.${name}.isSystemUser) or give an existing user with --eval-user or NOI_EVAL_USER`);
}

function resolveEvalUser(name: string | undefined, home: string): EvalUser | null {
  if (name === undefined || name === '') return null;
  const ids = userIds(name);
  if (ids.uid === 0) throw new OptionError(`eval user "${name}" is root (uid 0); give an unprivileged user with --eval-user or NOI_EVAL_USER`);
  if (ids.gid === 0) throw new OptionError(`eval user "${name}" has group root (gid 0) as its group; give it a group of its own`);
  return { name, ...ids, home };
}

export function groupId(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  const gid = groupIdOf(group, groupFile);
  if (gid !== null) return gid;
  throw new OptionError(`socket group "${group}" does not exist in ${groupFile}; give an existing group name or a numeric gid with --socket-group or NOI_SOCKET_GROUP`);
}

export function daemonOptions(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv = process.env): DaemonOptions {
  const pick = (flag: string, variable: string) => flags[flag] ?? env[variable] ?? undefined;
  // Relative paths mean the caller's folder: the daemon hands them to Nix, which would read them otherwise.
  const path = (flag: string, variable: string) => {
    const value = pick(flag, variable);
    return value === undefined || /^<.*>$/.test(value) ? value : resolve(value);
  };
  const logLevel = pick('log-level', 'NOI_LOG_LEVEL') ?? DEFAULTS.logLevel;
  if (!DEFAULTS.logLevels.includes(logLevel)) {
    throw new OptionError(`log level "${logLevel}" is not one of ${DEFAULTS.logLevels.join(', ')}`);
  }
  const dirs = pick('config-dirs', 'NOI_CONFIG_DIRS');
  const configDirs = dirs ? dirs.split(':').filter(Boolean) : [...DEFAULTS.configDirs];
  const notAbsolute = configDirs.find((dir) => !dir.startsWith('/'));
  if (notAbsolute !== undefined) throw new OptionError(`configuration folder "${notAbsolute}" must be an absolute path (--config-dirs / NOI_CONFIG_DIRS)`);
  if (configDirs.length === 0) throw new OptionError('--config-dirs / NOI_CONFIG_DIRS names no folder');
  const group = pick('socket-group', 'NOI_SOCKET_GROUP');
  // How the fleet's servers run: in units of their own under systemd (the NixOS module sets it), else as children.
  const units = env.NOI_FLEET_UNITS ?? 'direct';
  if (!(FLEET_UNIT_MODES as readonly string[]).includes(units)) throw new OptionError(`NOI_FLEET_UNITS "${units}" is not one of ${FLEET_UNIT_MODES.join(', ')}`);
  return {
    socketPath: path('socket', 'NOI_SOCKET') ?? DEFAULTS.socket,
    socketGid: group === undefined ? 0 : groupId(group),
    configDirs,
    nixosExpr: path('nixos-expr', 'NOI_NIXOS_EXPR') ?? DEFAULTS.nixosExpr,
    nixpkgs: path('nixpkgs', 'NOI_NIXPKGS') ?? null,
    channelProfile: path('channel-profile', 'NOI_CHANNEL_PROFILE') ?? DEFAULTS.channelProfile,
    manifest: path('manifest', 'NOI_MANIFEST') ?? null,
    logDir: path('log-dir', 'NOI_LOG_DIR') ?? DEFAULTS.logDir,
    logLevel: logLevel as LogLevel,
    evalUser: resolveEvalUser(pick('eval-user', 'NOI_EVAL_USER'), path('eval-home', 'NOI_EVAL_HOME') ?? DEFAULTS.evalHome),
    fleet: { stateDir: resolve(flags['fleet-dir'] ?? fleetStateDir(env)), user: pick('fleet-user', 'NOI_FLEET_USER') ?? INSTALLER_DEFAULTS.fleet.user, units: units as FleetUnitMode },
  };
}

// The daemon's settings, from its flags and then the environment (the NixOS
// module sets the environment; tests and people use flags).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_SOCKET_PATH } from '../protocol/messages.js';
import { DEFAULT_CONFIG_DIRS } from '../resolve/config-sources.js';
import { LOG_LEVELS, type LogLevel } from '../log/levels.js';
import type { JobSettings } from '../step/context.js';

export interface DaemonOptions extends JobSettings {
  socketPath: string;
  logDir: string;
  logLevel: LogLevel;
}

export class OptionError extends Error {}

export const DEFAULTS = {
  nixosExpr: '<nixpkgs/nixos>',
  logDir: '/var/log/nixos-offline-installer',
  channelProfile: '/nix/var/nix/profiles/per-user/root/channels',
};

export function groupId(group: string, groupFile = '/etc/group'): number {
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined && /^\d+$/.test(gid)) return Number(gid);
  }
  throw new OptionError(`socket group "${group}" does not exist in ${groupFile}; give an existing group name or a numeric gid with --socket-group or NOI_SOCKET_GROUP`);
}

export function daemonOptions(flags: Record<string, string | undefined>, env: NodeJS.ProcessEnv = process.env): DaemonOptions {
  const pick = (flag: string, variable: string) => flags[flag] ?? env[variable] ?? undefined;
  // Relative paths mean the caller's folder: the daemon hands them to Nix, which would read them otherwise.
  const path = (flag: string, variable: string) => {
    const value = pick(flag, variable);
    return value === undefined || /^<.*>$/.test(value) ? value : resolve(value);
  };
  const logLevel = pick('log-level', 'NOI_LOG_LEVEL') ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new OptionError(`log level "${logLevel}" is not one of ${LOG_LEVELS.join(', ')}`);
  }
  const dirs = pick('config-dirs', 'NOI_CONFIG_DIRS');
  const configDirs = dirs ? dirs.split(':').filter(Boolean) : [...DEFAULT_CONFIG_DIRS];
  const notAbsolute = configDirs.find((dir) => !dir.startsWith('/'));
  if (notAbsolute !== undefined) throw new OptionError(`configuration folder "${notAbsolute}" must be an absolute path (--config-dirs / NOI_CONFIG_DIRS)`);
  if (configDirs.length === 0) throw new OptionError('--config-dirs / NOI_CONFIG_DIRS names no folder');
  const group = pick('socket-group', 'NOI_SOCKET_GROUP');
  return {
    socketPath: path('socket', 'NOI_SOCKET') ?? DEFAULT_SOCKET_PATH,
    socketGid: group === undefined ? 0 : groupId(group),
    configDirs,
    nixosExpr: path('nixos-expr', 'NOI_NIXOS_EXPR') ?? DEFAULTS.nixosExpr,
    nixpkgs: path('nixpkgs', 'NOI_NIXPKGS') ?? null,
    channelProfile: path('channel-profile', 'NOI_CHANNEL_PROFILE') ?? DEFAULTS.channelProfile,
    manifest: path('manifest', 'NOI_MANIFEST') ?? null,
    logDir: path('log-dir', 'NOI_LOG_DIR') ?? DEFAULTS.logDir,
    logLevel: logLevel as LogLevel,
  };
}

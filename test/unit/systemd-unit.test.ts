// The daemon's systemd unit and the NixOS module that installs it, read as
// text: the daemon must never run Nix builds under a filter that forbids them,
// its children must die with it, and every hardening option says why it is safe.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INSTALLER_DEFAULTS } from '../../src/protocol/installer-defaults.js';
import { REPO } from '../helpers/env.js';

interface UnitLine {
  section: string;
  key: string;
  value: string;
  // The comment lines right above it.
  comment: string[];
}

function parseUnit(text: string): UnitLine[] {
  const lines: UnitLine[] = [];
  let section = '';
  let comment: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) comment.push(line);
    else if (/^\[.+\]$/.test(line)) (section = line.slice(1, -1)), (comment = []);
    else if (line.includes('=')) {
      const at = line.indexOf('=');
      lines.push({ section, key: line.slice(0, at), value: line.slice(at + 1), comment });
      comment = [];
    } else comment = [];
  }
  return lines;
}

const values = (unit: UnitLine[], key: string) => unit.filter((l) => l.key === key).map((l) => l.value);

function environment(unit: UnitLine[]): Record<string, string> {
  return Object.fromEntries(values(unit, 'Environment').map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]));
}

// The module's `environment = { ... }` of the service, as NAME = "value" pairs.
function moduleEnvironment(moduleNix: string): Record<string, string> {
  return Object.fromEntries([...moduleNix.matchAll(/^\s+([A-Z][A-Z0-9_]*) = "([^"$]*)";/gm)].map((m) => [m[1]!, m[2]!]));
}

// Why Nix cannot build in-process in this unit, or null when it can or does not have to.
// Nix run as root with no NIX_REMOTE builds in its own process; its sandbox opens an
// IP socket (the build's loopback) and calls sethostname.
function buildsForbidden(unit: UnitLine[], moduleEnv: Record<string, string>): string | null {
  const nixRemote = moduleEnv.NIX_REMOTE ?? environment(unit).NIX_REMOTE;
  if (nixRemote === 'daemon') return null;
  const families = values(unit, 'RestrictAddressFamilies').join(' ').split(/\s+/).filter(Boolean);
  if (families.length > 0 && !families[0]!.startsWith('~') && !families.includes('AF_INET') && !families.includes('AF_INET6')) {
    return `RestrictAddressFamilies=${families.join(' ')} without NIX_REMOTE=daemon`;
  }
  if (values(unit, 'ProtectHostname').some((v) => /^(yes|true|1|on)$/.test(v))) return 'ProtectHostname=yes without NIX_REMOTE=daemon';
  return null;
}

const UNIT_DIR = join(REPO, 'systemd');
const units = readdirSync(UNIT_DIR).filter((f) => f.endsWith('.service'));
const moduleNix = readFileSync(join(REPO, 'nix/module.nix'), 'utf8');
const isoNix = readFileSync(join(REPO, 'nix/iso.nix'), 'utf8');

// Options that restrict what the daemon and its children may do.
const HARDENING = /^(Restrict|Protect|Private|NoNewPrivileges|LockPersonality|SystemCall|IPAddress|CapabilityBoundingSet|AmbientCapabilities|Device|MemoryDeny|UMask|ReadOnly|ReadWrite|Inaccessible)/;

describe('the systemd unit', () => {
  it('is there', () => {
    expect(units).toContain('nixos-offline-installer.service');
  });

  for (const file of units) {
    const unit = parseUnit(readFileSync(join(UNIT_DIR, file), 'utf8'));

    it(`${file}: Nix builds go to nix-daemon, which is started first`, () => {
      expect(buildsForbidden(unit, moduleEnvironment(moduleNix))).toBeNull();
      expect(environment(unit).NIX_REMOTE).toBe('daemon');
      expect(values(unit, 'Wants')).toContain('nix-daemon.socket');
      expect(values(unit, 'After')).toContain('nix-daemon.socket');
    });

    it(`${file}: the check catches a unit that would build in-process under its filters`, () => {
      const withoutRemote = unit.filter((l) => !(l.key === 'Environment' && l.value.startsWith('NIX_REMOTE=')));
      expect(buildsForbidden(withoutRemote, {})).toMatch(/RestrictAddressFamilies|ProtectHostname/);
      expect(buildsForbidden(unit, { NIX_REMOTE: 'local' })).not.toBeNull();
      const hostnameOnly = withoutRemote.filter((l) => l.key !== 'RestrictAddressFamilies');
      expect(buildsForbidden(hostnameOnly, {})).toMatch(/ProtectHostname/);
    });

    it(`${file}: every process the daemon started dies with it`, () => {
      // control-group is systemd's default: the whole cgroup gets SIGTERM, then SIGKILL.
      expect(values(unit, 'KillMode').every((v) => v === 'control-group')).toBe(true);
    });

    it(`${file}: every hardening option says why it is safe`, () => {
      const hardening = unit.filter((l) => l.section === 'Service' && HARDENING.test(l.key));
      expect(hardening.length).toBeGreaterThanOrEqual(6);
      for (const line of hardening) expect(line.comment.length, `${line.key}=${line.value} has no comment above it`).toBeGreaterThan(0);
    });

    it(`${file}: only Unix sockets (the per-user limit reads SO_PEERCRED, no netlink)`, () => {
      expect(values(unit, 'RestrictAddressFamilies').join(' ').split(/\s+/).filter(Boolean)).toEqual(['AF_UNIX']);
      expect(values(unit, 'IPAddressDeny')).toEqual(['any']);
      expect(values(unit, 'IPAddressAllow')).toEqual([]);
    });

    it(`${file}: a fleet's network servers run in units of their own, never under these filters`, () => {
      expect(environment(unit).NOI_FLEET_UNITS).toBe('systemd');
    });

    it(`${file}: nothing keeps it from the target's disk`, () => {
      // ProtectClock= implies DeviceAllow=char-rtc r, which turns on the device allow-list: GRUB could not write the disk.
      for (const key of ['ProtectClock', 'PrivateDevices', 'DeviceAllow', 'DevicePolicy']) expect(values(unit, key), key).toEqual([]);
    });
  }
});

describe('the NixOS module', () => {
  it('keeps NIX_REMOTE=daemon and orders the service after nix-daemon.socket', () => {
    expect(moduleEnvironment(moduleNix).NIX_REMOTE).toBe('daemon');
    expect(moduleNix).toMatch(/wants = \[ "nix-daemon\.socket" \];/);
    expect(moduleNix).toMatch(/after = \[ "nix-daemon\.socket" \];/);
    expect(moduleNix).toMatch(/assertion = config\.nix\.enable;/);
  });

  it("gives nixos-install (whose chroot has no nix-daemon socket) no NIX_REMOTE", () => {
    const wrapper = /nixosInstall = pkgs\.writeShellScriptBin "nixos-install" ''\n\s+unset NIX_REMOTE\n\s+exec \$\{lib\.getExe' config\.system\.build\.nixos-install "nixos-install"\} "\$@"/;
    expect(moduleNix).toMatch(wrapper);
    const path = /path = \[([^\]]*)\];/.exec(moduleNix)![1]!;
    expect(path).toMatch(/^\s+nixosInstall$/m);
    expect(path).not.toContain('config.system.build.nixos-install');
  });

  it('lets only a dedicated group use the socket, which it creates; the ISO puts its live user in it', () => {
    const socketGroup = INSTALLER_DEFAULTS.service.socketGroup;
    expect(moduleNix).toMatch(/socketGroup = mkOption \{\s+type = types\.str;\s+default = defaults\.service\.socketGroup;/);
    expect(moduleNix).toContain('users.groups = lib.optionalAttrs (builtins.match "[0-9]+" cfg.socketGroup == null) { ${cfg.socketGroup} = { }; };');
    expect(isoNix).toContain('users.users.nixos.extraGroups = [ config.services.nixos-offline-installer.socketGroup ];');
    for (const file of units) expect(environment(parseUnit(readFileSync(join(UNIT_DIR, file), 'utf8'))).NOI_SOCKET_GROUP).toBe(socketGroup);
  });

  it('evaluates as a system user (and group) it creates, passed to the daemon; nothing in the unit keeps the daemon from becoming it', () => {
    const evalUser = INSTALLER_DEFAULTS.service.evalUser;
    expect(moduleNix).toMatch(/evalUser = mkOption \{\s+type = types\.str;\s+default = defaults\.service\.evalUser;/);
    expect(moduleNix).toMatch(/users\.users\.\$\{cfg\.evalUser\} = \{\s+isSystemUser = true;\s+group = cfg\.evalUser;/);
    expect(moduleNix).toContain('users.groups.${cfg.evalUser} = { };');
    expect(moduleNix).toMatch(/^\s+NOI_EVAL_USER = cfg\.evalUser;$/m);
    for (const file of units) {
      const unit = parseUnit(readFileSync(join(UNIT_DIR, file), 'utf8'));
      expect(environment(unit).NOI_EVAL_USER).toBe(evalUser);
      // setgroups, setgid and setuid to the eval user: the capabilities and the system calls stay allowed.
      for (const set of values(unit, 'CapabilityBoundingSet')) expect(set.startsWith('~') ? !/CAP_SET[UG]ID/.test(set) : /CAP_SETUID/.test(set) && /CAP_SETGID/.test(set), set).toBe(true);
      for (const filter of values(unit, 'SystemCallFilter')) expect(filter.startsWith('~') ? !/@setuid|@privileged|setuid|setgroups/.test(filter) : /@setuid|@system-service/.test(filter), filter).toBe(true);
      // Its HOME's folder: root's, not /tmp.
      expect(values(unit, 'StateDirectory')).toEqual(['nixos-offline-installer']);
    }
  });

  // A unit cannot read JSON: its values are checked against the table the daemon and the module read.
  it("gives the daemon the table's socket, folders and eval user, in the folders systemd makes for them", () => {
    const { daemon, service } = INSTALLER_DEFAULTS;
    expect(moduleNix).toContain('defaults = builtins.fromJSON (builtins.readFile ./installer-defaults.json);');
    expect(moduleNix).toMatch(/configDirs = mkOption \{\s+type = types\.listOf types\.str;\s+default = defaults\.daemon\.configDirs;/);
    expect(moduleNix).toMatch(/default = defaults\.daemon\.logLevel;/);
    for (const file of units) {
      const unit = parseUnit(readFileSync(join(UNIT_DIR, file), 'utf8'));
      expect(environment(unit), file).toMatchObject({
        NOI_SOCKET: daemon.socket,
        NOI_SOCKET_GROUP: service.socketGroup,
        NOI_CONFIG_DIRS: daemon.configDirs.join(':'),
        NOI_LOG_DIR: daemon.logDir,
        NOI_EVAL_USER: service.evalUser,
      });
      // /run/<RuntimeDirectory> holds the socket, /var/log/<LogsDirectory> the logs, /var/lib/<StateDirectory> the eval user's home.
      expect(values(unit, 'RuntimeDirectory').map((d) => `/run/${d}`)).toEqual([dirname(daemon.socket)]);
      expect(values(unit, 'LogsDirectory').map((d) => `/var/log/${d}`)).toEqual([daemon.logDir]);
      expect(values(unit, 'StateDirectory').map((d) => `/var/lib/${d}`)).toEqual([dirname(daemon.evalHome)]);
    }
  });
});

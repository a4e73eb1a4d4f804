// The boot unit of nix/unattended.nix, as far as it can run here (no nixpkgs):
// the module evaluated by real Nix against a minimal stand-in of lib and pkgs,
// and the shell script it generates run for real against kernel command lines.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SOCKET_PATH } from '../../src/protocol/socket-path.js';
import { NIX_CONFIG, REPO } from '../helpers/env.js';

const STUB = `
  let
    lib = {
      mkEnableOption = d: { description = d; };
      mkOption = o: o;
      mkIf = c: v: if c then v else { };
      types = { str = "str"; path = "path"; nullOr = t: "nullOr " + t; };
      literalExpression = e: e;
    };
    pkgs = { util-linux = "util-linux"; dosfstools = "dosfstools"; e2fsprogs = "e2fsprogs"; cryptsetup = "cryptsetup"; kmod = "kmod"; kbd = "/kbd"; terminus_font = "/terminus"; };
    config.services.nixos-offline-installer = { enable = true; package = "/pkg"; unattended = { enable = true; tty = "tty1"; font = "/terminus/share/consolefonts/ter-v32n.psf.gz"; }; };
  in (import ${REPO}/nix/unattended.nix { inherit config lib pkgs; }).config.systemd.services
`;

let dir: string;
let services: any;
let server: Server;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'noi-unit-'));
  services = JSON.parse(execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', STUB], { env: { ...process.env, NIX_CONFIG }, encoding: 'utf8' }));
  server = createServer().listen(join(dir, 'ipc.sock'));
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the unattended unit', () => {
  it('starts on the kernel parameter, on tty1, never again by itself', () => {
    const unit = services['nixos-offline-installer-unattended'];
    expect(unit.unitConfig).toEqual({ ConditionKernelCommandLine: 'nixos-offline-installer.answers' });
    expect(unit.serviceConfig.ExecStartPre).toBe('+/kbd/bin/setfont -C /dev/tty1 /terminus/share/consolefonts/ter-v32n.psf.gz');
    expect(unit.serviceConfig).toMatchObject({ Type: 'simple', Restart: 'no', StandardInput: 'tty', StandardOutput: 'tty', TTYPath: '/dev/tty1', CapabilityBoundingSet: '', PrivateNetwork: true });
    expect(unit.conflicts).toEqual(['getty@tty1.service']);
    expect(unit.requires).toEqual(['nixos-offline-installer.service']);
    expect(unit.restartIfChanged).toBe(false);
    // The daemon's socket, from nix/installer-defaults.json as the daemon has it.
    expect(unit.environment).toEqual({ NOI_SOCKET: DEFAULT_SOCKET_PATH });
    expect(services['nixos-offline-installer'].path).toEqual(['util-linux', 'dosfstools', 'e2fsprogs', 'cryptsetup', 'kmod']);
  });

  async function runScript(cmdline: string): Promise<{ status: number | null; stdout: string; args: string }> {
    const unit = services['nixos-offline-installer-unattended'];
    const script = (unit.script as string).replace('/proc/cmdline', join(dir, 'cmdline')).replaceAll(DEFAULT_SOCKET_PATH, join(dir, 'ipc.sock'));
    await writeFile(join(dir, 'cmdline'), `${cmdline}\n`);
    await writeFile(join(dir, 'script.sh'), script);
    // Records how the CLI is started.
    await writeFile(join(dir, 'nixos-offline-installer'), `#!/bin/sh\nprintf '%s\\n' "$@" > '${join(dir, 'args')}'\n`);
    await chmod(join(dir, 'nixos-offline-installer'), 0o755);
    await rm(join(dir, 'args'), { force: true });
    const result = spawnSync('bash', ['-e', join(dir, 'script.sh')], { env: { PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8', timeout: 10_000 });
    return { status: result.status, stdout: result.stdout, args: await readFile(join(dir, 'args'), 'utf8').catch(() => '') };
  }

  it('runs the CLI with the path from the kernel command line', async () => {
    const run = await runScript('BOOT_IMAGE=/boot/bzImage init=/nix/store/x/init nixos-offline-installer.answers=/iso/nix-cfg/install.json systemd.unit=multi-user.target quiet');
    expect(run.status).toBe(0);
    expect(run.args).toBe('install\n--answers\n/iso/nix-cfg/install.json\n');
    expect(run.stdout).toContain('UNATTENDED INSTALL from /iso/nix-cfg/install.json');
  });

  it('refuses a parameter with no path, and takes no glob or shell from the command line', async () => {
    const empty = await runScript('quiet nixos-offline-installer.answers= splash');
    expect(empty.status).toBe(2);
    expect(empty.args).toBe('');
    const glob = await runScript('nixos-offline-installer.answers=/iso/*/install.json');
    expect(glob.args).toBe('install\n--answers\n/iso/*/install.json\n');
    const shell = await runScript('nixos-offline-installer.answers=$(touch${IFS}/tmp/x)');
    expect(shell.args).toBe('install\n--answers\n$(touch${IFS}/tmp/x)\n');
  });
});

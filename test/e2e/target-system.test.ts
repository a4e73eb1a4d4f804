// The system checked is the system installed: this machine's generated
// hardware configuration and the installer's choices are in place before any
// check, and a mismatch is refused before <root>/etc/nixos exists. Real daemon
// in a network namespace, real Nix evaluating the stand-in NixOS expression
// (whose module merge honours mkDefault like nixpkgs'), the stand-in
// nixos-generate-config describing a machine.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DaemonClient } from '../../src/client/daemon-client.js';
import type { InstallRequest, ResultEvent } from '../../src/protocol/messages.js';
import { writeConfig, type ConfigSpec } from '../helpers/config.js';
import { runCli } from '../helpers/cli.js';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { NIXOS_EXPR, NIX_CONFIG, REPO, scratchWithRoot } from '../helpers/env.js';

let dir: string;
let root: string;
let daemon: RunningDaemon | null = null;

beforeEach(async () => ({ dir, root } = await scratchWithRoot('target-system')));
afterEach(async () => {
  await cleanUp(dir, daemon);
  daemon = null;
});

// An install request as Calamares sends it, through the project's own socket client.
async function install(fields: Omit<InstallRequest, 'v' | 'id' | 'root'>): Promise<{ result: ResultEvent; logs: string[] }> {
  const client = await DaemonClient.connect(daemon!.socket);
  const logs: string[] = [];
  client.on('log', (e) => logs.push(...e.lines.map((l) => `[${e.source}] ${l}`)));
  client.on('phase', (e) => logs.push(`<phase ${e.phase}>`));
  const done = new Promise<ResultEvent>((resolve) => client.on('result', resolve));
  const reply = await client.request('install', { root, ...fields });
  expect(reply.ok, JSON.stringify(reply)).toBe(true);
  const result = await done;
  client.close();
  return { result, logs };
}

const CALAMARES_CHOICES = {
  hostname: 'workshop-07',
  timezone: 'Europe/Berlin',
  locale: 'de_DE.UTF-8',
  LC_TIME: 'en_GB.UTF-8',
  keyboardLayout: 'de',
  keyboardVariant: 'nodeadkeys',
  keyboardVConsoleKeymap: 'de-latin1-nodeadkeys',
  firmwareType: 'bios',
  bootLoaderPath: '/dev/sda',
};

// The value NixOS will have for OPTION in the installed /etc/nixos, evaluated by real Nix.
function installedValue(option: string): unknown {
  const expr = `(import ${NIXOS_EXPR} { configuration = ${root}/etc/nixos/configuration.nix; }).config.${option}`;
  return JSON.parse(execFileSync('nix-instantiate', ['--eval', '--strict', '--json', '-E', expr, '-I', `nixos-config=${root}/etc/nixos/configuration.nix`], { env: { ...process.env, NIX_CONFIG }, encoding: 'utf8' }));
}

// writeConfig puts spec.extra into configuration.nix.
async function config(spec: ConfigSpec): Promise<string> {
  return writeConfig(join(dir, 'cfg'), spec);
}

describe("the installer's choices", () => {
  it('become defaults in installer-choices.nix, imported from the generated hardware configuration; what the configuration sets wins and is said', async () => {
    const source = await config({ hostName: 'ignored', extra: 'time.timeZone = "UTC";' });
    // The configuration's own hostName is a plain value too: it wins over the choice.
    daemon = await startDaemon({ dir, configDirs: [source] });
    const { result } = await install({ user: 'alice', desktop: 'gnome', choices: CALAMARES_CHOICES });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);

    const module = await readFile(join(root, 'etc/nixos/installer-choices.nix'), 'utf8');
    expect(module).toContain('networking.hostName = lib.mkOverride 999 "workshop-07";');
    expect(module).toContain('time.timeZone = lib.mkOverride 999 "Europe/Berlin";');
    expect(module).toContain('i18n.defaultLocale = lib.mkOverride 999 "de_DE.UTF-8";');
    expect(module).toContain('i18n.extraLocaleSettings.LC_TIME = lib.mkOverride 999 "en_GB.UTF-8";');
    expect(module).toContain('console.keyMap = lib.mkOverride 999 "de-latin1-nodeadkeys";');
    expect(module).toContain('services.xserver.xkb.layout = lib.mkOverride 999 "de";');
    expect(module).toContain('services.xserver.xkb.variant = lib.mkOverride 999 "nodeadkeys";');
    expect(module).toContain('boot.loader.grub.device = lib.mkOverride 999 "/dev/sda";');
    expect(await readFile(join(root, 'etc/nixos/hardware-configuration.nix'), 'utf8')).toMatch(/imports = \[ \.\/installer-choices\.nix/);
    // The person's own files are untouched.
    expect(await readFile(join(root, 'etc/nixos/configuration.nix'), 'utf8')).toBe(await readFile(join(source, 'configuration.nix'), 'utf8'));

    // Real Nix on the installed folder: the choice applies where the configuration is silent.
    expect(installedValue('time.timeZone')).toBe('UTC');
    expect(installedValue('networking.hostName')).toBe('ignored');
    expect(installedValue('console.keyMap')).toBe('de-latin1-nodeadkeys');
    expect(installedValue('i18n.defaultLocale')).toBe('de_DE.UTF-8');

    const byOption = Object.fromEntries(result.choices!.map((c) => [c.option, c]));
    expect(byOption['time.timeZone']).toMatchObject({ chosen: 'Europe/Berlin', result: 'UTC', applied: false });
    expect(byOption['networking.hostName']).toMatchObject({ chosen: 'workshop-07', result: 'ignored', applied: false });
    expect(byOption['console.keyMap']).toMatchObject({ applied: true });
    expect(byOption['services.xserver.xkb.layout']).toMatchObject({ applied: true });
  });

  it("leave a configuration's own lib.mkDefault to the installer: the choice applies, with no conflict of two defaults", async () => {
    const source = await config({ extra: 'time.timeZone = lib.mkDefault "UTC";\n  console.keyMap = lib.mkDefault "us";' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const { result } = await install({ user: 'alice', desktop: 'gnome', choices: CALAMARES_CHOICES });
    expect(result.error).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(installedValue('time.timeZone')).toBe('Europe/Berlin');
    expect(installedValue('console.keyMap')).toBe('de-latin1-nodeadkeys');
    const byOption = Object.fromEntries(result.choices!.map((c) => [c.option, c]));
    expect(byOption['time.timeZone']).toMatchObject({ chosen: 'Europe/Berlin', result: 'Europe/Berlin', applied: true });
  });

  it('a BIOS machine with a systemd-boot configuration is refused before /etc/nixos exists, saying what to set', async () => {
    const source = await config({ bootLoader: 'boot.loader.systemd-boot.enable = true;\n  boot.loader.grub.enable = false;' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const { result } = await install({ user: 'alice', choices: { firmwareType: 'bios', bootLoaderPath: '/dev/sda' } });
    expect(result.error).toMatchObject({ code: 'bootloader-mismatch', title: 'systemd-boot cannot start this machine' });
    expect(result.error!.description).toContain('boot.loader.grub.device');
    expect(await readdir(root)).toEqual([]);
    // The same configuration on a UEFI machine installs.
    const efi = await install({ user: 'alice', choices: { firmwareType: 'efi' } });
    expect(efi.result.ok).toBe(true);
  });

  it('GRUB with no disk on BIOS is refused; the disk chosen on the partition page fills it in', async () => {
    const source = await config({ bootLoader: 'boot.loader.grub.enable = true;' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const refused = await install({ user: 'alice', choices: { firmwareType: 'bios' } });
    expect(refused.result.error).toMatchObject({ code: 'bootloader-mismatch', title: 'GRUB has no disk to install to' });
    expect(await readdir(root)).toEqual([]);
    const chosen = await install({ user: 'alice', choices: { firmwareType: 'bios', bootLoaderPath: '/dev/vdb' } });
    expect(chosen.result.ok).toBe(true);
    expect(installedValue('boot.loader.grub.device')).toBe('/dev/vdb');
  });

  it('users.mutableUsers = false without a password for the chosen user is refused', async () => {
    const source = await config({ extra: 'users.mutableUsers = false;' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const { result } = await install({ user: 'alice', choices: { firmwareType: 'efi' } });
    expect(result.error).toMatchObject({ code: 'password-not-kept', title: 'The password of "alice" would not be kept' });
    expect(result.error!.description).toContain('users.users.alice.hashedPassword');
    expect(await readdir(root)).toEqual([]);
  });
});

describe("this machine's hardware", () => {
  // A copy of the stand-in NixOS whose nixpkgs has its own microcode release (content no store has yet).
  async function nixosWithMicrocode(): Promise<{ expr: string; file: string }> {
    const expr = join(dir, 'nixos');
    await cp(NIXOS_EXPR, expr, { recursive: true });
    const version = randomBytes(6).toString('hex');
    const content = `microcode ${version}\n`;
    const sha256 = createHash('sha256').update(content).digest('hex');
    await writeFile(join(expr, 'microcode.nix'), `{ intel = { version = "${version}"; sha256 = "${sha256}"; }; }\n`);
    const file = join(dir, `microcode-intel-${version}`);
    await writeFile(file, content);
    return { expr, file };
  }

  async function intelMachine(): Promise<string> {
    const machine = join(dir, 'machine');
    await writeFile(machine, 'import: (modulesPath + "/installer/scan/not-detected.nix")\nhardware.cpu.intel.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;\n');
    return machine;
  }

  it('a download this machine needs and the ISO lacks is refused before /etc/nixos exists, naming it and the setting; with it present the install goes through', async () => {
    const { expr, file } = await nixosWithMicrocode();
    const source = await config({});
    // An ISO built for QEMU guests only.
    const manifest = join(dir, 'manifest.json');
    await writeFile(manifest, JSON.stringify({ version: 1, configDir: '/iso/nix-cfg', users: [], desktops: [], hardwareProfiles: { 'qemu-kvm': await readFile(join(REPO, 'nix/hardware-profiles/qemu-kvm.nix'), 'utf8') } }));
    daemon = await startDaemon({ dir, configDirs: [source], nixosExpr: expr, env: { NOI_STANDIN_MACHINE: await intelMachine() }, extraArgs: ['--manifest', manifest] });
    const refused = await install({ user: 'alice', choices: { firmwareType: 'efi' } });
    expect(refused.logs.find((l) => l.startsWith('[hardware] this machine matches none'))).toMatch(/closest: "qemu-kvm", which lacks: .*hardware\.cpu\.intel\.updateMicrocode/);
    expect(refused.result.error, refused.result.error?.description).toMatchObject({ code: "needs-download" });
    expect(refused.result.error!.description).toMatch(/microcode-intel-[0-9a-f]+ \(https:\/\/microcode\.invalid\/[^)]+\), needed by hardware\.cpu\.intel\.updateMicrocode in this machine's generated hardware-configuration\.nix/);
    expect(refused.result.error!.description).toContain('nixos-generate-config --show-hardware-config');
    expect(await readdir(root)).toEqual([]);

    // An ISO that covers this machine has the download in its store.
    execFileSync('nix-store', ['--add-fixed', 'sha256', file], { env: { ...process.env, NIX_CONFIG } });
    const installed = await install({ user: 'alice', choices: { firmwareType: 'efi' } });
    expect(installed.result.ok, JSON.stringify(installed.result.error)).toBe(true);
    expect(await readFile(join(root, 'etc/nixos/hardware-configuration.nix'), 'utf8')).toContain('hardware.cpu.intel.updateMicrocode');
  });

  it('status and validate say which of the ISO\'s hardware profiles this machine matches, and what the closest lacks', async () => {
    const source = await config({});
    const manifest = join(dir, 'manifest.json');
    const profile = (name: string) => readFile(join(REPO, `nix/hardware-profiles/${name}.nix`), 'utf8');
    await writeFile(manifest, JSON.stringify({ version: 1, configDir: '/iso/nix-cfg', users: [], desktops: [], hardwareProfiles: { 'qemu-kvm': await profile('qemu-kvm'), amd: await profile('amd') } }));
    daemon = await startDaemon({ dir, configDirs: [source], env: { NOI_STANDIN_MACHINE: await intelMachine() }, extraArgs: ['--manifest', manifest] });
    await expect
      .poll(async () => (await runCli(['status', '--socket', daemon!.socket, '--json'])).events[0]!.data.status.hardware, { timeout: 10_000 })
      .toMatchObject({ profiles: 2, matches: null });
    const status = (await runCli(['status', '--socket', daemon.socket])).stdout;
    expect(status).toMatch(/hardware: this machine matches none of the ISO's 2 hardware profiles; closest: "(amd|qemu-kvm)", which lacks: .*hardware\.cpu\.intel\.updateMicrocode/);
    const validate = await runCli(['validate', '--socket', daemon.socket, '--json']);
    expect(validate.events[0]!.data.validation.hardware).toMatchObject({ matches: null, missing: expect.arrayContaining(['hardware.cpu.intel.updateMicrocode = lib.mkDefault config.hardware.enableRedistributableFirmware;']) });
  });

  it('a hardware configuration identical to the shipped one uses the ISO manifest: no evaluation', async () => {
    const source = await config({});
    // The template is exactly what this machine's probe prints.
    const generated = execFileSync(join(import.meta.dirname, '../stand-ins/nixos-generate-config'), ['--show-hardware-config', '--root', root], { encoding: 'utf8' });
    await writeFile(join(source, 'hardware-configuration.nix'), generated);
    const manifest = join(dir, 'manifest.json');
    const intel = await readFile(join(REPO, 'nix/hardware-profiles/intel.nix'), 'utf8');
    await writeFile(manifest, JSON.stringify({ version: 1, configDir: source, users: ['alice'], desktops: ['gnome'], toplevel: '/nix/store/00000000000000000000000000000000-x', closureBytes: 1, hardwareProfiles: { intel, generic: generated } }));
    daemon = await startDaemon({ dir, configDirs: [source], extraArgs: ['--manifest', manifest] });
    const { result, logs } = await install({ user: 'alice' });
    expect(result.ok, JSON.stringify(result.error)).toBe(true);
    expect(logs).toContain(`[hardware] this machine matches the ISO's hardware profile "generic"`);
    expect(logs.some((l) => l.includes("this machine's hardware-configuration.nix is the configuration's own"))).toBe(true);
    // The checks evaluate nothing (the build, later, evaluates the system to realise it).
    const checking = logs.slice(0, logs.indexOf('<phase stage>'));
    expect(checking).toContain('<phase validate>');
    expect(checking.some((l) => l.startsWith('[nix-instantiate]'))).toBe(false);
  });
});

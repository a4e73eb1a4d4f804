// The nixos-offline job module inside the real Calamares (Debian's 3.2.61,
// headless), against the real daemon in a network namespace and real Nix.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cp, mkdir, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkJob, failure, MODULE_DIR, moduleCopy, runCalamares, startCalamares, stepInstances, stepJobs } from '../helpers/calamares.js';
import { runCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/config.js';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { CLI, REPO, nixCopyPattern, scratchWithRoot } from '../helpers/env.js';

let dir: string;
let root: string;
let daemon: RunningDaemon | null = null;

beforeEach(async () => ({ dir, root } = await scratchWithRoot('calamares')));
afterEach(async () => {
  await cleanUp(dir, daemon);
  daemon = null;
});

// run.sh's jobs are seed-globalstorage, then the four steps: the copy step is job 4.
const COPY_STEP_STARTED = 'Starting job "nixos-offline" ( 4 / 5 )';

function seed(extra: Record<string, unknown> = {}) {
  return {
    rootMountPoint: root,
    username: 'alice',
    fullname: 'Alice',
    hostname: 'field-01',
    packagechooser_packagechooser: 'gnome',
    firmwareType: 'efi',
    bootLoader: { installPath: '/dev/vda' },
    locationRegion: 'Europe',
    locationZone: 'Berlin',
    localeConf: { LANG: 'de_DE.UTF-8/UTF-8', LC_TIME: 'en_GB.UTF-8/UTF-8' },
    keyboardLayout: 'de',
    keyboardVariant: 'nodeadkeys',
    keyboardVConsoleKeymap: 'de-latin1-nodeadkeys',
    partitions: [
      { claimed: true, device: '/dev/vda2', fs: 'linuxswap', fsName: 'luks2', luksMapperName: 'luks-swap0', uuid: '0a1b2c3d-1111-2222-3333-444455556666', luksPassphrase: 'secret' },
      { claimed: true, device: '/dev/vda3', fs: 'ext4', fsName: 'ext4', mountPoint: '/', uuid: 'aaaa-bbbb' },
    ],
    ...extra,
  };
}

async function daemonWith(spec: Parameters<typeof writeConfig>[1] = {}) {
  const source = await writeConfig(join(dir, 'cfg'), spec);
  daemon = await startDaemon({ dir, configDirs: [source] });
  return moduleCopy(dir, { socket: daemon.socket });
}

async function installState(): Promise<any> {
  return (await runCli(['status', '--socket', daemon!.socket, '--json'])).events[0]!.data.status.install;
}

describe('the nixos-offline job in Calamares', () => {
  it('installs through the daemon: files on the target, progress and log lines in Calamares, encrypted swap declared', async () => {
    const modules = await daemonWith({ hostName: 'calamares' });
    const { log } = await runCalamares(dir, modules, seed());

    expect(failure(log), log).toBeNull();
    expect(log).toContain('Starting job "nixos-offline"');
    expect(log).toContain('[PYTHON JOB]: "[nix copy] copying path');
    expect(log).toContain('[PYTHON JOB]: "nixos-offline: Copying the system to the target"');
    expect(log).toContain('chosen in the installer: hostname=field-01');
    const profile = await readlink(join(root, 'nix/var/nix/profiles/system-1-link'));
    expect(profile).toMatch(/-nixos-system-calamares-stand-in$/);
    const hardware = await readFile(join(root, 'etc/nixos/hardware-configuration.nix'), 'utf8');
    expect(hardware).toContain('boot.initrd.luks.devices."luks-swap0".device = "/dev/disk/by-uuid/0a1b2c3d-1111-2222-3333-444455556666";');
    expect(hardware.trimEnd().endsWith('}')).toBe(true);
    // The choices made on Calamares' pages, as defaults beside it.
    expect(hardware).toMatch(/imports = \[ \.\/installer-choices\.nix/);
    const choices = await readFile(join(root, 'etc/nixos/installer-choices.nix'), 'utf8');
    for (const line of ['time.timeZone = lib.mkOverride 999 "Europe/Berlin";', 'i18n.defaultLocale = lib.mkOverride 999 "de_DE.UTF-8";', 'i18n.extraLocaleSettings.LC_TIME = lib.mkOverride 999 "en_GB.UTF-8";', 'console.keyMap = lib.mkOverride 999 "de-latin1-nodeadkeys";', 'services.xserver.xkb.layout = lib.mkOverride 999 "de";', 'networking.hostName = lib.mkOverride 999 "field-01";']) {
      expect(choices).toContain(line);
    }
    const installLog = await readFile(join(root, 'var/log/nixos-offline-installer/install.log'), 'utf8');
    expect(installLog).not.toContain('secret');
    expect((await installState()).state).toBe('succeeded');
  });

  it("installs as settings.conf's steps: one install on one connection, each step its own job, the last one closing", async () => {
    const modules = await daemonWith({ hostName: 'steps' });
    const { log } = await runCalamares(dir, modules, seed(), { jobs: stepJobs() });

    expect(failure(log), log).toBeNull();
    // Calamares shares the bar by these weights: settings.conf's, one job per step.
    expect([...log.matchAll(/Job \d+ "nixos-offline" \+wt ([\d.]+)/g)].map((m) => Number(m[1]))).toEqual(stepInstances().map((i) => i.weight));
    // Each step's job shows its own phases, in turn.
    const shown = [...log.matchAll(/Starting job "nixos-offline"|\[PYTHON JOB\]: "nixos-offline: ([^"]+)"/g)].map((m) => m[1] ?? 'job');
    expect(shown).toEqual([
      ...['job', 'Generating the hardware configuration', 'Checking the configuration against your choices', 'Copying the configuration to the target'],
      ...['job', 'Building the system from the local store'],
      ...['job', 'Copying the system to the target'],
      ...['job', 'Installing the boot loader and activating', 'Writing the install log'],
      // The result's last word: where GRUB went (writeConfig's own boot.loader.grub.device; a UEFI machine, so no page chose one).
      'GRUB was installed to /dev/vda (set by the configuration)',
    ]);
    expect(await readlink(join(root, 'nix/var/nix/profiles/system-1-link'))).toMatch(/-nixos-system-steps-stand-in$/);
    const install = await installState();
    expect(install.state).toBe('succeeded');
    // One install request for the four steps.
    expect(daemon!.output().match(/"install started"/g)).toHaveLength(1);
  });

  it('tells the user to check the service when the daemon is not running', async () => {
    const modules = await moduleCopy(dir, { socket: join(dir, 'no-daemon.sock') });
    const { log } = await runCalamares(dir, modules, seed());
    expect(failure(log)).toEqual({
      title: 'The offline installer service is not running',
      details: `Nothing answers on ${join(dir, 'no-daemon.sock')}. Check the installer service with: systemctl status nixos-offline-installer`,
    });
  });

  it('shows a user and a desktop the configuration does not have, before anything is written to the target', async () => {
    const modules = await daemonWith({ hostName: 'mismatch', users: ['alice'] });
    const user = failure((await runCalamares(dir, modules, seed({ username: 'mallory' }))).log);
    expect(user?.title).toBe('User "mallory" is not in the configuration');
    expect(user?.details).toContain('alice');
    const desktop = failure((await runCalamares(dir, modules, seed({ packagechooser_packagechooser: 'xfce' }))).log);
    expect(desktop?.details).toContain('the xfce desktop');
    expect(await readdir(root)).toEqual([]);
  });

  it('refuses systemd-boot on a BIOS machine before anything is written to the target', async () => {
    const modules = await daemonWith({ hostName: 'biosboot', bootLoader: 'boot.loader.systemd-boot.enable = true;' });
    const shown = failure((await runCalamares(dir, modules, seed({ firmwareType: 'bios', bootLoader: { installPath: '/dev/sda' } }))).log);
    expect(shown?.title).toBe('systemd-boot cannot start this machine');
    expect(shown?.details).toContain('boot.loader.grub.device');
    expect(await readdir(root)).toEqual([]);
  });

  it("shows the daemon's title and description when nixos-install fails", async () => {
    const modules = await daemonWith({ hostName: 'badboot', bootloaderFails: true });
    const { log } = await runCalamares(dir, modules, seed());
    const shown = failure(log);
    expect(shown?.title).toBe('Installing the boot loader failed');
    expect(shown?.details).toContain('Failed to install bootloader: no EFI system partition mounted at /boot');
    expect(shown?.details).toContain(`Full log: ${join(root, 'var/log/nixos-offline-installer/install.log')}`);
  });

  it('cancels the install when Calamares quits mid-install (the cancel button ends Calamares), also in a later step', async () => {
    const modules = await daemonWith({ hostName: 'quit', payloads: { big: 1_000_000_000 } });
    // The copy step holds the connection the prepare step opened.
    const calamares = startCalamares(dir, modules, seed(), { jobs: stepJobs() });
    await expect.poll(() => calamares.logSoFar(), { timeout: 120_000, interval: 50 }).toContain(COPY_STEP_STARTED);
    expect((await installState()).phase).toBe('copy');
    calamares.quit();
    const { log } = await calamares.done;
    expect(log.match(/Starting job "nixos-offline"/g)).toHaveLength(3);
    await expect.poll(async () => (await installState()).state, { timeout: 10_000, interval: 100 }).toBe('cancelled');
    expect(() => execFileSync('pgrep', ['-f', nixCopyPattern(root)])).toThrow();
  });

  it('reports a daemon that dies mid-install as an error, not a hang, also in a later step', async () => {
    const modules = await daemonWith({ hostName: 'dies', payloads: { big: 1_000_000_000 } });
    const calamares = startCalamares(dir, modules, seed(), { jobs: stepJobs() });
    await expect.poll(() => calamares.logSoFar(), { timeout: 120_000, interval: 50 }).toContain(COPY_STEP_STARTED);
    expect((await installState()).phase).toBe('copy');
    daemon!.process.kill('SIGKILL');
    const { log } = await calamares.done;
    // The copy step (the third) reports it; the install step is skipped.
    expect(log.match(/Starting job "nixos-offline"/g)).toHaveLength(3);
    expect(failure(log)?.title).toBe('The offline installer service stopped during the install');
    expect(failure(log)?.details).toContain('journalctl -u nixos-offline-installer');
    // Cleanup: a nix copy the killed daemon left behind (it may also have died of the broken pipe).
    spawnSync('pkill', ['-f', nixCopyPattern(root)]);
  });

  it('gives up on a daemon that stops answering after the configured time', async () => {
    // Accepts the connection, then says nothing at all.
    const socket = join(dir, 'silent.sock');
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(socket, resolve));
    try {
      const modules = await moduleCopy(dir, { socket, idleTimeout: 2 });
      const { log } = await runCalamares(dir, modules, seed());
      expect(failure(log)?.title).toBe('The offline installer stopped responding');
      expect(failure(log)?.details).toContain('No word from the installer service for 2 seconds');
    } finally {
      silent.close();
    }
  });
});

// The jobs after the check: what it left in globalstorage, then a stand-in for
// Calamares' partition job, which marks the target (the first job that touches the disk).
const AFTER_CHECK = ['show-globalstorage', 'mark-target'];
const MARKER = 'partitioned-by-test';
const SHOWN_KEYS = { SHOW_GLOBALSTORAGE: 'nixosOfflineChoiceLines,nixosOfflineSource' };

function shownGlobalstorage(log: string): Record<string, unknown> {
  const line = /globalstorage: (\{.*\})/.exec(log);
  expect(line, log).not.toBeNull();
  // Calamares' log quotes the Python job's message: unescape it.
  return JSON.parse(line![1]!.replace(/\\"/g, '"')) as Record<string, unknown>;
}

describe('the check step in Calamares, before the partition job', () => {
  it('checks the choices with the daemon and leaves one line per choice, saying which the configuration overrides', async () => {
    const source = await writeConfig(join(dir, 'cfg'), { hostName: 'own-name', extra: 'time.timeZone = "UTC";' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const modules = await moduleCopy(dir, { socket: daemon.socket });
    const { log } = await runCalamares(dir, modules, seed(), { jobs: [checkJob(), ...AFTER_CHECK], env: SHOWN_KEYS });

    expect(failure(log), log).toBeNull();
    expect(shownGlobalstorage(log)).toEqual({
      nixosOfflineChoiceLines: [
        'User: alice (declared in the configuration)',
        'Desktop: gnome (the configured one)',
        'Computer name: field-01 (does not apply: the configuration sets own-name, and it wins)',
        'Time zone: Europe/Berlin (does not apply: the configuration sets UTC, and it wins)',
        'Language: de_DE.UTF-8 (applies)',
        'Console keyboard: de-latin1-nodeadkeys (applies)',
        'Keyboard layout: de (applies)',
        'Keyboard variant: nodeadkeys (applies)',
        'GRUB goes to /dev/vda (set by the configuration)',
      ],
      nixosOfflineSource: source,
    });
    // What a launcher would leave pages out by: the settings the configuration decides itself.
    const validation = (await runCli(['validate', '--socket', daemon.socket, '--json'])).events[0]!.data.validation;
    expect(validation.facts.fixedSettings).toEqual(['hostName', 'timeZone']);
    // Only a check: no install, and the job after it ran.
    expect(daemon.output()).not.toContain('"install started"');
    expect(await readdir(root)).toEqual([MARKER]);
  });

  it('says where GRUB goes when the configuration overrides the partition page, and the install where it went', async () => {
    // The configuration's own boot.loader.grub.device = "/dev/vda" (writeConfig's), against /dev/sda chosen on the page.
    const modules = await daemonWith({ hostName: 'own-grub' });
    const bios = seed({ firmwareType: 'bios', bootLoader: { installPath: '/dev/sda' } });
    const checked = await runCalamares(dir, modules, bios, { jobs: [checkJob(), ...AFTER_CHECK], env: SHOWN_KEYS });
    expect(failure(checked.log), checked.log).toBeNull();
    expect(shownGlobalstorage(checked.log).nixosOfflineChoiceLines).toContain('GRUB goes to /dev/vda (set by the configuration), not /dev/sda chosen on the partition page');

    await rm(join(root, MARKER));
    const installed = await runCalamares(dir, modules, bios);
    expect(failure(installed.log), installed.log).toBeNull();
    expect(installed.log).toContain('nixos-offline: GRUB was installed to /dev/vda (set by the configuration), not /dev/sda as chosen on the partition page');
  });

  it('refuses a configuration before the partition job runs: the target stays untouched', async () => {
    const modules = await daemonWith({ hostName: 'refused', users: ['alice'], bootLoader: 'boot.loader.systemd-boot.enable = true;' });
    const user = await runCalamares(dir, modules, seed({ username: 'mallory' }), { jobs: [checkJob(), ...AFTER_CHECK], env: SHOWN_KEYS });
    expect(failure(user.log)?.title).toBe('User "mallory" is not in the configuration');
    expect(user.log).not.toContain('Starting job "mark-target"');
    // The firmware Calamares found decides the boot loader check already.
    const bios = await runCalamares(dir, modules, seed({ firmwareType: 'bios' }), { jobs: [checkJob(), ...AFTER_CHECK], env: SHOWN_KEYS });
    expect(failure(bios.log)?.title).toBe('systemd-boot cannot start this machine');
    expect(await readdir(root)).toEqual([]);
    expect(daemon!.output()).not.toContain('"install started"');
    // The same configuration on a UEFI machine passes, and the partition stand-in runs: the test can tell.
    const efi = await runCalamares(dir, modules, seed(), { jobs: [checkJob(), ...AFTER_CHECK], env: SHOWN_KEYS });
    expect(failure(efi.log), efi.log).toBeNull();
    expect(await readdir(root)).toEqual([MARKER]);
  });

  it('tells the user to check the service when the daemon is not running', async () => {
    const modules = await moduleCopy(dir, { socket: join(dir, 'no-daemon.sock') });
    const { log } = await runCalamares(dir, modules, seed(), { jobs: [checkJob(), ...AFTER_CHECK] });
    expect(failure(log)?.title).toBe('The offline installer service is not running');
    expect(await readdir(root)).toEqual([]);
  });
});

// Warnings Calamares logs here whatever our configuration says, each with why
// it is not ours. Anything else it warns about is a key of ours that is wrong.
const NOT_OURS: { pattern: RegExp; reason: string }[] = [
  { pattern: /"Not connected to D-Bus server"|Failed to connect to socket \/run\/dbus\/system_bus_socket/, reason: 'no D-Bus on a test machine or in a test bed' },
  { pattern: /Interface "org\.freedesktop\.locale1" is not valid/, reason: 'systemd-localed is asked over D-Bus, which does not run here' },
  { pattern: /ckbcomp not found , keyboard preview disabled/, reason: "the keyboard preview's tool (console-setup) is not installed here; the ISO's Calamares has it" },
  { pattern: /Invalid osprober count, labels and buttons not updated/, reason: 'no disks here, so os-prober says nothing' },
  { pattern: /(begin|end)ResetModel called on BootLoaderModel\(0x[0-9a-f]+\) without calling (end|begin)ResetModel first/, reason: "Calamares 3.3+'s own partition module on Qt 6: it clears its boot-loader list inside a reset, whatever the configuration" },
  { pattern: /QThread::setPriority: Cannot set priority, thread is not running/, reason: "Calamares 3.2's exec-page log viewer sets its thread's priority before starting it" },
];

// The session log's warnings and errors (levels 1 and 2), one entry each: a
// function-name line and its indented message lines (timestamped again on 3.3+).
function warnings(log: string): string[] {
  const entries: { level: number; text: string }[] = [];
  for (const line of log.split('\n')) {
    const stamped = /^\d{4}-\d\d-\d\d - [\d:]+ \[(\d)\]: (.*)$/.exec(line);
    if (stamped && !/^\s/.test(stamped[2]!)) entries.push({ level: Number(stamped[1]), text: stamped[2]! });
    else if (entries.length > 0) entries.at(-1)!.text += ` ${(stamped?.[2] ?? line).trim()}`;
  }
  return entries.filter((e) => e.level <= 2).map((e) => e.text);
}

// Our settings and module configs as the ISO installs them, in CONFIG; only
// the branding, the module search path and the desktop pictures (not on
// Debian) are this machine's.
async function offlineConfig(config: string): Promise<void> {
  await cp('/usr/share/calamares/branding', join(config, 'branding'), { recursive: true });
  await cp('/usr/share/calamares/qml', join(config, 'qml'), { recursive: true });
  await cp(join(REPO, 'calamares/config/modules'), join(config, 'modules'), { recursive: true });
  await cp(join(MODULE_DIR, 'nixos-offline.conf'), join(config, 'modules/nixos-offline.conf'));
  const settings = (await readFile(join(REPO, 'calamares/config/settings.conf'), 'utf8'))
    .replace(/^modules-search:.*$/m, `modules-search: [ ${join(REPO, 'calamares/modules')}, /usr/lib/x86_64-linux-gnu/calamares/modules ]`)
    .replace(/^branding: nixos$/m, 'branding: default');
  await writeFile(join(config, 'settings.conf'), settings);
  const images = join(dir, 'images');
  const chooser = await readFile(join(config, 'modules/packagechooser.conf'), 'utf8');
  await mkdir(images, { recursive: true });
  for (const [, name] of chooser.matchAll(/\/run\/current-system\/sw\/share\/calamares\/images\/(\S+\.png)/g)) {
    await cp('/usr/share/calamares/branding/default/squid.png', join(images, name!));
  }
  await writeFile(join(config, 'modules/packagechooser.conf'), chooser.replaceAll('/run/current-system/sw/share/calamares/images/', `${images}/`));
  // The language list where the ISO build points (glibcLocales' SUPPORTED); NixOS has no /usr/share/i18n/SUPPORTED.
  const glibcLocales = join(dir, 'glibc-locales');
  await mkdir(join(glibcLocales, 'share/i18n'), { recursive: true });
  await writeFile(join(glibcLocales, 'share/i18n/SUPPORTED'), 'en_US.UTF-8 UTF-8\nde_DE.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n');
  const locale = await readFile(join(config, 'modules/locale.conf'), 'utf8');
  await writeFile(join(config, 'modules/locale.conf'), locale.replace('@glibcLocales@', glibcLocales));
  // The choices page's QML file, where the ISO build puts its store path.
  const notes = await readFile(join(config, 'modules/notesqml-choices.conf'), 'utf8');
  const qml = /^qmlFilename: (\S+)$/m.exec(notes)![1]!;
  await writeFile(join(config, 'modules/notesqml-choices.conf'), notes.replace(qml, join(REPO, 'calamares/qml', basename(qml))));
}

// unshare's default makes / private, which fails in a test bed's chroot (/ is no mount point there); the bed's
// whole run is already in a private mount namespace (bed-chroot.sh), so there mounts may keep their propagation.
const PRIVATE_MOUNTS = spawnSync('unshare', ['--mount', 'true']).status === 0 ? ['--mount'] : ['--mount', '--propagation', 'unchanged'];

// Starts Calamares with ARGS and returns its session log once its requirements
// are checked and the QML pages (loaded in the background) are up: the show
// pages wait for a person, so it is stopped then.
async function loadedLog(args: string[], env: Record<string, string> = {}): Promise<string> {
  const home = join(dir, 'home');
  const runtime = join(dir, 'xdg-runtime');
  await mkdir(runtime, { mode: 0o700 });
  const log = join(home, '.cache/calamares/session.log');
  // As on NixOS, no /usr/share/i18n/SUPPORTED (Calamares reads it before locale.conf's localeGenPath): a private mount hides it.
  const child = spawn('unshare', [...PRIVATE_MOUNTS, '--', 'sh', '-c', '[ ! -d /usr/share/i18n ] || mount -t tmpfs none /usr/share/i18n; exec calamares "$@"', 'calamares', '-d', '-D6', ...args], {
    env: { ...process.env, QT_QPA_PLATFORM: 'offscreen', QT_QUICK_BACKEND: 'software', HOME: home, XDG_RUNTIME_DIR: runtime, ...env },
    stdio: 'ignore',
  });
  try {
    const ready = (t: string) =>
      t.includes('Requirements model has') && /QML component "[^"]*\/nixos-offline-choices\.qml" (QQmlComponent::)?Ready/.test(t);
    await expect.poll(async () => ready(await readFile(log, 'utf8').catch(() => '')), { timeout: 60_000, interval: 200 }).toBe(true);
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    child.kill('SIGKILL');
  }
  return readFile(log, 'utf8');
}

describe('the offline settings in Calamares', () => {
  it('loads settings.conf and every module config of ours without a warning, and never checks for internet', async () => {
    const config = join(dir, 'calamares-config');
    await offlineConfig(config);
    const text = await loadedLog(['-c', config]);

    // The pages, the summary, the check's and the install's exec blocks, the choices page, finished.
    expect(text).toContain('11 view steps loaded');
    expect(text).toMatch(/"locale@locale"/);
    // The language list comes from locale.conf's localeGenPath (glibcLocales' on the ISO).
    expect(text).toContain(`Loading locales from "${join(dir, 'glibc-locales/share/i18n/SUPPORTED')}"`);
    expect(text).not.toContain('loading failed');
    // Some are always there (no D-Bus here): proof the log is read right.
    expect(warnings(text).length).toBeGreaterThan(0);
    expect(warnings(text).filter((w) => !NOT_OURS.some(({ pattern }) => pattern.test(w)))).toEqual([]);
    expect(text).toMatch(/hasInternet :\s+unchecked/);
    // Modules report their requirements concurrently: the order varies from run to run.
    const requirements = [...text.matchAll(/requirement \d+ "([^"]+)"/g)].map((m) => m[1]).sort();
    expect(requirements).toEqual(['partitions', 'power', 'ram', 'screen', 'storage']);
    expect(text).not.toContain('geoip');
  });

  it("the launcher's settings.conf, found first through XDG_CONFIG_DIRS, leaves out the pages the configuration decides; module configs still come from the ISO's folder", async () => {
    // The ISO's layout: calamares-nixos runs Calamares with --xdg-config and the extensions' etc in XDG_CONFIG_DIRS.
    const etc = join(dir, 'extensions-etc');
    await offlineConfig(join(etc, 'calamares'));
    const source = await writeConfig(join(dir, 'cfg'), { extra: 'time.timeZone = "UTC";\n  i18n.defaultLocale = "en_US.UTF-8";' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const out = join(dir, 'launcher');
    const run = await runCli(['calamares-settings', '--socket', daemon.socket, '--settings', join(etc, 'calamares/settings.conf'), '--out', out]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('pages left out, as the configuration decides all they ask: locale');
    const written = await readFile(join(out, 'calamares/settings.conf'), 'utf8');
    expect(written).not.toMatch(/^ {2}- locale$/m);
    expect(written).toMatch(/^ {2}- keyboard$/m);

    const text = await loadedLog(['-X'], { XDG_CONFIG_DIRS: `${out}:${etc}` });
    // One page fewer than the whole sequence, and the locale module never loaded.
    expect(text).toContain('10 view steps loaded');
    expect(text).toMatch(/"keyboard@keyboard"/);
    expect(text).not.toMatch(/"locale@locale"/);
    expect(text).not.toContain('loading failed');
    expect(warnings(text).filter((w) => !NOT_OURS.some(({ pattern }) => pattern.test(w)))).toEqual([]);
    // The module configs are ours (no internet check), from the folder after the launcher's.
    expect(text).toMatch(/hasInternet :\s+unchecked/);

    // No daemon: every page, and exit status 3; Calamares still gets a settings.conf.
    await daemon.stop();
    daemon = null;
    const alone = await runCli(['calamares-settings', '--socket', join(dir, 'none.sock'), '--settings', join(etc, 'calamares/settings.conf'), '--out', out]);
    expect(alone.code).toBe(3);
    expect(await readFile(join(out, 'calamares/settings.conf'), 'utf8')).toBe(await readFile(join(etc, 'calamares/settings.conf'), 'utf8'));
  });

  it('the launcher (nix/calamares-launcher.sh) puts the settings.conf for the configuration in use first and starts Calamares with --xdg-config; without them, the extensions\' own', async () => {
    // The extensions' package as the ISO build leaves it, a stand-in for Calamares that tells what it got, and our CLI.
    const ext = join(dir, 'extensions');
    await mkdir(join(ext, 'etc/calamares'), { recursive: true });
    await cp(join(REPO, 'calamares/config/settings.conf'), join(ext, 'etc/calamares/settings-all-pages.conf'));
    const fake = join(dir, 'fake-calamares');
    await writeFile(fake, '#!/bin/sh\necho "args: $*"\necho "config: $XDG_CONFIG_DIRS"\necho "data: $XDG_DATA_DIRS"\n', { mode: 0o755 });
    const cli = join(dir, 'cli');
    await writeFile(cli, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`, { mode: 0o755 });
    const launcher = join(dir, 'calamares');
    const script = (await readFile(join(REPO, 'nix/calamares-launcher.sh'), 'utf8')).replaceAll('@extensions@', ext).replaceAll('@installer@', cli).replaceAll('@calamares@', fake).replaceAll('@coreutils@', '/usr');
    expect(script).not.toMatch(/@[a-z]+@/);
    await writeFile(launcher, script, { mode: 0o755 });
    const source = await writeConfig(join(dir, 'cfg'), { extra: 'time.timeZone = "UTC";\n  i18n.defaultLocale = "en_US.UTF-8";' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const runtime = join(dir, 'user-runtime');
    await mkdir(runtime, { mode: 0o700 });
    const launch = (env: Record<string, string>) => {
      const out = execFileSync(launcher, ['-d'], { env: { PATH: process.env.PATH!, NOI_SOCKET: daemon?.socket ?? join(dir, 'none.sock'), XDG_CONFIG_DIRS: '/etc/xdg', ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      return Object.fromEntries(out.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
    };

    const started = launch({ XDG_RUNTIME_DIR: runtime });
    expect(started.args).toBe('--xdg-config -d');
    expect(started.data).toBe(`${join(ext, 'share')}`);
    const [first, ...rest] = started.config!.split(':');
    expect(first).toMatch(new RegExp(`^${runtime}/nixos-offline-calamares\\.\\w{6}$`));
    expect(rest).toEqual([join(ext, 'etc'), '/etc/xdg']);
    const settings = await readFile(join(first!, 'calamares/settings.conf'), 'utf8');
    expect(settings).not.toMatch(/^ {2}- locale$/m);
    expect(settings).toMatch(/^ {2}- keyboard$/m);

    // No daemon: every page, still from the launcher's folder.
    await daemon!.stop();
    daemon = null;
    const alone = launch({ XDG_RUNTIME_DIR: runtime });
    expect(await readFile(join(alone.config!.split(':')[0]!, 'calamares/settings.conf'), 'utf8')).toBe(await readFile(join(ext, 'etc/calamares/settings-all-pages.conf'), 'utf8'));
    // No folder to write to: the extensions' settings, as calamares-nixos starts Calamares.
    expect(launch({ XDG_RUNTIME_DIR: join(dir, 'missing') }).config).toBe(`${join(ext, 'etc')}:/etc/xdg`);
  });

  it('the launcher as pkexec starts it (root, no XDG_RUNTIME_DIR, no coreutils on PATH) names every program by the store path calamares-launcher.nix puts in, and its settings.conf comes first', async () => {
    // Each `--replace-fail @name@ ${package}suffix` of the Nix build, done here with a stand-in folder per package.
    const launcherNix = await readFile(join(REPO, 'nix/calamares-launcher.nix'), 'utf8');
    const replacements = [...launcherNix.matchAll(/--replace-fail (@\w+@) \$\{([\w-]+)\}(\S*)/g)].map((m) => ({ marker: m[1]!, pkg: m[2]!, suffix: m[3]! }));
    const stores: Record<string, string> = {};
    for (const pkg of new Set(replacements.map((r) => r.pkg))) await mkdir((stores[pkg] = join(dir, 'store', pkg)), { recursive: true });
    expect(Object.keys(stores).sort()).toEqual(['calamares', 'calamares-nixos-extensions', 'coreutils', 'nixos-offline-installer']);
    await mkdir(join(stores['calamares-nixos-extensions']!, 'etc/calamares'), { recursive: true });
    await cp(join(REPO, 'calamares/config/settings.conf'), join(stores['calamares-nixos-extensions']!, 'etc/calamares/settings-all-pages.conf'));
    await mkdir(join(stores.calamares!, 'bin'));
    await writeFile(join(stores.calamares!, 'bin/calamares'), '#!/bin/sh\necho "args: $*"\necho "config: $XDG_CONFIG_DIRS"\n', { mode: 0o755 });
    await mkdir(join(stores['nixos-offline-installer']!, 'bin'));
    await writeFile(join(stores['nixos-offline-installer']!, 'bin/nixos-offline-installer'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`, { mode: 0o755 });
    // The stand-in coreutils holds every program of this machine's coreutils, as nixpkgs' holds GNU coreutils.
    await mkdir(join(stores.coreutils!, 'bin'));
    const coreutils = execFileSync('dpkg', ['-L', 'coreutils'], { encoding: 'utf8' }).split('\n').filter((f) => /^\/(usr\/)?bin\/[^/]+$/.test(f));
    expect(coreutils.map((f) => basename(f))).toContain('mktemp');
    for (const program of coreutils) await symlink(program, join(stores.coreutils!, 'bin', basename(program))).catch(() => undefined);
    let script = await readFile(join(REPO, 'nix/calamares-launcher.sh'), 'utf8');
    for (const { marker, pkg, suffix } of replacements) script = script.replaceAll(marker, stores[pkg]! + suffix);
    // Every marker of the script is one the Nix build replaces.
    expect(script).not.toMatch(/@\w+@/);
    const launcher = join(dir, 'calamares');
    await writeFile(launcher, script, { mode: 0o755 });

    // pkexec's PATH on NixOS: /usr/bin holds only env; nothing else is found by name.
    const usrBin = join(dir, 'usr-bin');
    await mkdir(usrBin);
    await symlink(execFileSync('sh', ['-c', 'command -v env'], { encoding: 'utf8' }).trim(), join(usrBin, 'env'));
    const source = await writeConfig(join(dir, 'cfg'), { extra: 'time.timeZone = "UTC";\n  i18n.defaultLocale = "en_US.UTF-8";' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    expect(process.getuid!()).toBe(0);
    const run = spawnSync('/usr/bin/env', ['-i', `PATH=${usrBin}`, `NOI_SOCKET=${daemon.socket}`, launcher, '-d'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/not found/);
    const started = Object.fromEntries(run.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 2)]));
    expect(started.args).toBe('--xdg-config -d');
    const [first, ...rest] = started.config!.split(':');
    // No XDG_RUNTIME_DIR: the launcher's folder is made in /tmp, as root, for root only.
    expect(first).toMatch(/^\/tmp\/nixos-offline-calamares\.\w{6}$/);
    expect(rest).toEqual([join(stores['calamares-nixos-extensions']!, 'etc')]);
    expect((await stat(first!)).mode & 0o777).toBe(0o700);
    const settings = await readFile(join(first!, 'calamares/settings.conf'), 'utf8');
    expect(settings).not.toMatch(/^ {2}- locale$/m);
    expect(settings).toMatch(/^ {2}- keyboard$/m);
    await rm(first!, { recursive: true });

    // The same launcher calling mktemp by name, as it did, finds none and leaves Calamares the ISO's page set.
    await writeFile(launcher, script.replace(`${stores.coreutils}/bin/mktemp`, 'mktemp'), { mode: 0o755 });
    const byName = spawnSync('/usr/bin/env', ['-i', `PATH=${usrBin}`, `NOI_SOCKET=${daemon.socket}`, launcher], { encoding: 'utf8' });
    expect(byName.stdout).toContain(`config: ${join(stores['calamares-nixos-extensions']!, 'etc')}\n`);
  });
});

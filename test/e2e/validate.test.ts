// Validation before touching the target, through the real daemon and CLI, with
// facts from real Nix evaluation of stand-in configurations (or the ISO
// manifest) and a real dry run of the system's realisation.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, resultOf, startCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/config.js';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { NIX_CONFIG, scratch } from '../helpers/env.js';
import { evaluateFacts } from '../../src/validate/config-facts.js';
import { DESKTOP_OPTIONS } from '../../src/validate/desktops.js';
import { NIXOS_EXPR } from '../helpers/env.js';

let dir: string;
let daemon: RunningDaemon | null = null;

beforeEach(async () => {
  dir = await scratch('validate');
});
afterEach(async () => {
  await cleanUp(dir, daemon);
  daemon = null;
});

async function validate(args: string[] = []) {
  const run = await runCli(['validate', '--socket', daemon!.socket, '--json', ...args]);
  return { code: run.code, validation: run.events[0]!.data.validation, run };
}

function check(validation: any, name: string) {
  return validation.checks.find((c: any) => c.name === name);
}

describe('offline completeness, with real Nix', () => {
  it('refuses a configuration that needs a download not in the store, naming it, and passes once it is there', async () => {
    // Content no store has yet: this test's own download.
    const content = `offline test ${randomBytes(8).toString('hex')}\n`;
    const file = join(dir, 'firmware-blob.bin');
    await writeFile(file, content);
    const sha256 = createHash('sha256').update(content).digest('hex');
    const source = await writeConfig(join(dir, 'cfg'), { hostName: `dl-${sha256.slice(0, 8)}`, downloads: [{ name: 'firmware-blob.bin', url: 'https://example.invalid/firmware-blob.bin', sha256 }] });
    daemon = await startDaemon({ dir, configDirs: [source] });

    const refused = await validate();
    expect(refused.code).toBe(1);
    expect(check(refused.validation, 'offline')).toMatchObject({ ok: false, error: { code: 'needs-download', title: 'The configuration needs 1 download that is not on the ISO' } });
    expect(check(refused.validation, 'offline').error.description).toContain('firmware-blob.bin (https://example.invalid/firmware-blob.bin)');
    expect(refused.validation.downloads.map((d: any) => d.name)).toEqual(['firmware-blob.bin']);

    execFileSync('nix-store', ['--add-fixed', 'sha256', file], { env: { ...process.env, NIX_CONFIG } });
    const passed = await validate();
    expect(passed.code).toBe(0);
    expect(check(passed.validation, 'offline')).toEqual({ name: 'offline', ok: true });
    expect(passed.validation.downloads).toEqual([]);
    // The toplevel itself (new for this configuration) is built locally, and counted.
    expect(passed.validation.toBuild.length).toBeGreaterThanOrEqual(1);
    expect(passed.validation.toBuild.some((d: string) => d.endsWith(`-nixos-system-dl-${sha256.slice(0, 8)}-stand-in.drv`))).toBe(true);
  });

  it('an install that needs a download stops before writing anything to the target', async () => {
    const sha256 = createHash('sha256').update(randomBytes(16)).digest('hex');
    const source = await writeConfig(join(dir, 'cfg'), { downloads: [{ name: 'missing-src.tar.gz', url: 'https://example.invalid/missing-src.tar.gz', sha256 }] });
    const root = join(dir, 'root');
    await mkdir(root, { mode: 0o755 });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const run = await runCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--json']);
    expect(run.code).toBe(1);
    expect(resultOf(run).error.code).toBe('needs-download');
    expect(resultOf(run).error.description).toContain('missing-src.tar.gz');
    expect(await readdir(root)).toEqual([]);
  });
});

describe('user and desktop, against facts from real evaluation', () => {
  it('names a user that is not declared and a desktop that is not configured', async () => {
    const source = await writeConfig(join(dir, 'cfg'), { users: ['alice', 'bob'] });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const ok = await validate(['--user', 'bob', '--desktop', 'gnome']);
    expect(ok.code).toBe(0);
    expect(ok.validation.facts).toMatchObject({ origin: 'evaluation', users: ['alice', 'bob'], desktops: ['gnome'] });

    const bad = await validate(['--user', 'carol', '--desktop', 'plasma6']);
    expect(bad.code).toBe(1);
    expect(check(bad.validation, 'user').error).toMatchObject({ code: 'user-not-declared', title: 'User "carol" is not in the configuration' });
    expect(check(bad.validation, 'user').error.description).toContain('alice, bob');
    expect(check(bad.validation, 'desktop').error).toMatchObject({ code: 'desktop-mismatch' });
    expect(check(bad.validation, 'desktop').error.description).toContain('enables: gnome');
  });

  // Each path is written into a configuration for the stand-in NixOS, which declares the
  // options nixpkgs declares (test/fixtures/nixos/options.nix, written out there, not read
  // from the table): a wrong path fails evaluation instead of counting as off.
  it('finds every desktop in each place its option has lived', async () => {
    const settings = { configDirs: [], nixosExpr: NIXOS_EXPR, nixpkgs: null, channelProfile: '', manifest: null, socketGid: 0 };
    const ctx = { signal: new AbortController().signal, log: () => undefined, output: () => undefined, recentLines: () => [] };
    const options = [...new Set(Object.values(DESKTOP_OPTIONS).flat())];
    for (const option of options) {
      const source = await writeConfig(join(dir, option), { desktopOptions: [option] });
      const facts = await evaluateFacts(ctx, source, settings);
      const expected = Object.keys(DESKTOP_OPTIONS).filter((id) => DESKTOP_OPTIONS[id]!.includes(option));
      // And each path is its own desktop's (plasma's are plasma5's and plasma6's).
      for (const id of expected) expect(option, id).toMatch(new RegExp(`^services\\.(?:xserver\\.)?desktopManager\\.${id}\\d*\\.enable$`));
      expect(facts.desktops, option).toEqual(expected.sort());
    }
    const none = await writeConfig(join(dir, 'none'), { desktopOptions: [] });
    expect((await evaluateFacts(ctx, none, settings)).desktops).toEqual([]);
  });

  it('an install with a wrong user or desktop fails before /etc/nixos exists, naming the mismatch', async () => {
    const source = await writeConfig(join(dir, 'cfg'));
    const root = join(dir, 'root');
    await mkdir(root, { mode: 0o755 });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const wrongUser = await runCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--user', 'mallory', '--desktop', 'gnome', '--json']);
    expect(wrongUser.code).toBe(1);
    expect(resultOf(wrongUser).error).toMatchObject({ code: 'user-not-declared', title: 'User "mallory" is not in the configuration' });
    const wrongDesktop = await runCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--user', 'alice', '--desktop', 'xfce', '--json']);
    expect(resultOf(wrongDesktop).error).toMatchObject({ code: 'desktop-mismatch' });
    expect(resultOf(wrongDesktop).error.description).toContain('the xfce desktop');
    expect(await readdir(root)).toEqual([]);
    const fine = await runCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--user', 'alice', '--desktop', 'gnome', '--json']);
    expect(fine.code).toBe(0);
  });

  it('reports a configuration that does not evaluate, with the file and line', async () => {
    const source = await writeConfig(join(dir, 'cfg'), { raw: '{ config, ... }:\n{\n  users.users.alice.isNormalUser = true;\n  imports = [ ./missing-module.nix ];\n}\n' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const { code, validation } = await validate();
    expect(code).toBe(1);
    expect(check(validation, 'evaluates').error.code).toBe('config-eval-failed');
    expect(check(validation, 'evaluates').error.description).toContain('missing-module.nix');
  });
});

describe('the ISO manifest', () => {
  it('gives the facts for the shipped folder without evaluating it', async () => {
    const iso = await writeConfig(join(dir, 'iso-cfg'), { users: ['alice'] });
    const manifest = join(dir, 'manifest.json');
    // Different from what evaluation would say, to show which one is used.
    await writeFile(manifest, JSON.stringify({ version: 1, configDir: iso, users: ['technician'], desktops: ['xfce'], toplevel: '/nix/store/00000000000000000000000000000000-x', closureBytes: 1 }));
    daemon = await startDaemon({ dir, configDirs: [iso], extraArgs: ['--manifest', manifest] });
    const { code, validation } = await validate(['--user', 'technician', '--desktop', 'xfce']);
    expect(code).toBe(0);
    expect(validation.facts.origin).toBe('manifest');
    expect(check(validation, 'offline').skipped).toContain('manifest');
  });
});

describe('live checks as files change', () => {
  it('re-checks once for a burst of writes, follows a folder that appears and disappears, and tells status watchers', async () => {
    const tmpCfg = join(dir, 'tmp', 'nix-cfg');
    await mkdir(join(dir, 'tmp'));
    const iso = await writeConfig(join(dir, 'iso'), { users: ['alice'] });
    daemon = await startDaemon({ dir, configDirs: [tmpCfg, iso] });
    const watcher = startCli(['status', '--socket', daemon.socket, '--watch', '--json']);
    await watcher.waitFor((e) => e.type === 'reply');
    const validations = () => watcher.events.filter((e) => e.type === 'validation').map((e) => e.data);
    // The initial check at start-up may still be running; wait until it is done.
    await expect.poll(async () => (await runCli(['status', '--socket', daemon!.socket, '--json'])).events[0]!.data.status.validation.state, { timeout: 20_000 }).toBe('done');

    const before = validations().length;
    await writeConfig(tmpCfg, { users: ['technician'] });
    await watcher.waitFor((e) => e.type === 'validation' && e.data.source === tmpCfg);
    // Every finished check is broadcast; a check superseded by a newer change is not.
    const checksBefore = validations().length;
    for (let i = 0; i < 20; i++) await writeFile(join(tmpCfg, 'configuration.nix'), (await import('../helpers/config.js')).configurationNix({ users: ['technician'], hostName: `burst${i}` }));
    await new Promise((r) => setTimeout(r, 1500));
    expect(validations().length - checksBefore).toBe(1);
    expect(validations().length).toBeGreaterThan(before);
    const latest = validations().at(-1);
    expect(latest.source).toBe(tmpCfg);
    expect(latest.facts.users).toEqual(['technician']);

    await rm(tmpCfg, { recursive: true });
    await watcher.waitFor((e) => e.type === 'validation' && e.data.source === iso && validations().indexOf(e.data) > validations().indexOf(latest));
    const status = (await runCli(['status', '--socket', daemon.socket, '--json'])).events[0]!.data.status;
    expect(status.validation.result.source).toBe(iso);
    expect(status.validation.result.checkedAt).toMatch(/^\d{4}-/);
  });
});

describe('whose user and desktop the live check uses', () => {
  const statusOf = async () => (await runCli(['status', '--socket', daemon!.socket, '--json'])).events[0]!.data.status;

  it('never an earlier client`s: after validate --desktop kde, status and the re-checks use none, and say so', async () => {
    const source = await writeConfig(join(dir, 'cfg'), { hostName: 'choices' });
    daemon = await startDaemon({ dir, configDirs: [source] });
    await expect.poll(async () => (await statusOf()).validation.state, { timeout: 20_000 }).toBe('done');

    const kde = await validate(['--desktop', 'kde']);
    expect(kde.code).toBe(1);
    expect(check(kde.validation, 'desktop').error).toMatchObject({ code: 'desktop-unknown', title: 'Unknown desktop "kde"' });
    // Its own answer says which choices it was checked with.
    const text = await runCli(['validate', '--socket', daemon.socket, '--desktop', 'kde']);
    expect(text.stdout).toContain('checked with desktop kde');

    expect((await statusOf()).validation.result).toMatchObject({ ok: true, user: null, desktop: null });
    const watcher = startCli(['status', '--socket', daemon.socket, '--watch', '--json']);
    await watcher.waitFor((e) => e.type === 'reply');
    await writeConfig(source, { hostName: 'choices-changed' });
    const recheck = await watcher.waitFor((e) => e.type === 'validation');
    expect(recheck.data).toMatchObject({ ok: true, user: null, desktop: null });
    watcher.signal('SIGINT');

    const shown = await runCli(['status', '--socket', daemon.socket]);
    expect(shown.stdout).toMatch(new RegExp(`^check: ok \\(${source}; choices: none \\(configuration checks only\\); checked \\d{4}-`, 'm'));
  });

  it('during an install, the installing client`s', async () => {
    const source = await writeConfig(join(dir, 'cfg'), { hostName: 'installing', users: ['alice'], payloads: { big: 1_000_000_000 } });
    const root = join(dir, 'root');
    await mkdir(root, { mode: 0o755 });
    daemon = await startDaemon({ dir, configDirs: [source] });
    const watcher = startCli(['status', '--socket', daemon.socket, '--watch', '--json']);
    await watcher.waitFor((e) => e.type === 'reply');
    const install = startCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--user', 'alice', '--desktop', 'gnome', '--json']);
    await install.waitFor((e) => e.type === 'phase' && e.data.phase === 'copy', 120_000);
    const seen = watcher.events.length;
    await writeConfig(source, { hostName: 'installing', users: ['alice', 'bob'], payloads: { big: 1_000_000_000 } });
    const recheck = await watcher.waitFor((e) => e.type === 'validation' && watcher.events.indexOf(e) >= seen, 60_000);
    expect(recheck.data).toMatchObject({ user: 'alice', desktop: 'gnome' });
    expect(recheck.data.facts.users).toEqual(['alice', 'bob']);
    await runCli(['cancel', '--socket', daemon.socket]);
    await install.done;
    watcher.signal('SIGINT');
  });
});

describe('a failed check, as validate and status tell it', () => {
  it('validate does not send to an install log it never wrote; status shows the reason`s first lines with the file and line', async () => {
    const deep = await writeConfig(join(dir, 'deep'), { raw: '{ ... }:\n{\n  networking.hostName = builtins.readFile ./missing-name;\n}\n' });
    daemon = await startDaemon({ dir, configDirs: [deep] });
    const failed = check((await validate()).validation, 'evaluates');
    expect(failed.ok).toBe(false);
    expect(failed.error.description).toMatch(/more frames/);
    expect(failed.error.description).not.toContain('the full trace is in the install log');
    await daemon.stop();

    const broken = await writeConfig(join(dir, 'broken'), { raw: '{ config, ... }:\n{\n  networking.hostName = "x"\n  broken = ;\n}\n' });
    daemon = await startDaemon({ dir, configDirs: [broken] });
    await validate();
    const status = await runCli(['status', '--socket', daemon.socket]);
    expect(status.stdout).toMatch(/^check: FAILED: The configuration does not evaluate/m);
    expect(status.stdout).toMatch(/^ {4}error: syntax error, unexpected '='/m);
    expect(status.stdout).toContain(`    That is ${broken}/configuration.nix, line 4, column 10.`);
  });
});

describe('the installer`s user', () => {
  it('root is refused as root, not with advice to make it a normal user', async () => {
    const source = await writeConfig(join(dir, 'cfg'));
    daemon = await startDaemon({ dir, configDirs: [source] });
    const user = check((await validate(['--user', 'root'])).validation, 'user');
    expect(user.ok).toBe(false);
    expect(user.error.title).toBe("root cannot be the installer's user");
    expect(user.error.description).toContain('alice');
    expect(user.error.description).not.toContain('users.users.root.isNormalUser = true');
  });
});

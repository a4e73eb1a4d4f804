// A fleet's targets as the seed sees them: registration with the hardware
// probe, the seed's own check of each target's system (prepared from its
// answer file and probe, checked and built by the real daemon with real Nix,
// as the eval user), the target's reports, and `fleet status`. The seed's
// daemon and dnsmasq run in a network namespace of their own; the targets'
// requests come from another (curl), as a netbooted installer's would.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLinesOf, resultOf } from '../helpers/cli.js';
import { activeUses, blkid, endDiskTest, isBlank, NO_DM, partitionTable, withReadOnly } from '../helpers/loop-disk.js';
import { PASSWORD_HASH } from '../helpers/config.js';
import { logEntries, type RunningDaemon } from '../helpers/daemon.js';
import { CLI, pidsWith, README_STOP_DEADLINE_MS, REPO, scratch, testEnv } from '../helpers/env.js';
import { closureHashOf, copyFromSeedScript, curl, endServedFleet, fleetRequest, goSecrets, HARDWARE, installFleetTarget, SEAL, serveFleet, type ServedFleet } from '../helpers/fleet.js';
import { emptyStoreCommand, inNetns, Namespaces } from '../helpers/netns.js';
import { sealKeyPair, unseal } from '../../src/protocol/sealed.js';
import { openSealedFile } from '../../src/job/fleet-seed.js';

const NET = '10.78.0';
const SEED = `${NET}.1`;
const PORT = '8472';
const URL = `http://${SEED}:${PORT}`;
const GOOD = '52:54:00:00:01:01';
const WRONG_FIRMWARE = '52:54:00:00:01:02';
const UNDECLARED_USER = '52:54:00:00:01:03';
const BROKEN_PROBE = '52:54:00:00:01:04';
const ENCRYPTED = '52:54:00:00:01:05';
const NO_LAYOUT = '52:54:00:00:01:06';
// Long enough for an evaluation and build of the stand-in system on a loaded machine.
const CHECK_DEADLINE_MS = 240_000;

let dir: string;
let daemon: RunningDaemon | null = null;
let fleet: ServedFleet | null = null;
let targetDaemon: RunningDaemon | null = null;
const GiB = 1024 ** 3;
let secret = '';
const ns = new Namespaces();
let seed: string;
let target: string;

const request = (path: string, body?: unknown, token: string | null = secret) => fleetRequest(target, `${URL}${path}`, token, body);

function status(): any[] {
  return request('/targets').json.targets;
}

async function waitForState(mac: string, states: string[]): Promise<any> {
  const deadline = Date.now() + CHECK_DEADLINE_MS;
  for (;;) {
    const found = status().find((t) => t.mac === mac);
    if (states.includes(found?.state)) return found;
    if (Date.now() > deadline) throw new Error(`${mac} is ${JSON.stringify(found)}, not ${states.join(' or ')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// The CLI run where the seed is reachable: in the target's namespace (by --fleet and --secret-file) or on the seed,
// which finds its own fleet's secret in FLEET_DIR (the daemon's NOI_FLEET_DIR, test/helpers/daemon.ts).
function fleetStatus(netns: string, args: string[], fleetDir = join(dir, 'fleet')): { code: number; stdout: string; stderr: string } {
  return inNetns(netns, [process.execPath, CLI, 'fleet', 'status', ...args], { env: testEnv({ NOI_FLEET_DIR: fleetDir }) });
}

beforeAll(async () => {
  dir = await scratch('fleet-targets');
  const answers = { [WRONG_FIRMWARE]: { disk: '/dev/vda', layout: 'bios-ext4' }, [UNDECLARED_USER]: { disk: '/dev/vda', layout: 'efi-ext4', user: 'bob' } };
  fleet = await serveFleet(dir, ns, NET, PORT, { answers });
  ({ seed, target, daemon, secret } = fleet);
});

afterAll(() => endServedFleet(dir, ns, fleet, targetDaemon));

describe("the seed checks and builds each target's system before its disk is touched", () => {
  it('gives the go with the system built in its own store, from the answer file and the probe', async () => {
    const registered = request('/targets', { mac: GOOD, hardware: HARDWARE, sealKey: SEAL.publicKey });
    expect(registered.status, JSON.stringify(registered.json)).toBe(200);
    expect(registered.json.target.state).toBe('waiting');
    // No go before the check passed: a report of progress is refused.
    const early = request(`/targets/${GOOD}/report`, { state: 'installing', phase: 'copy', fraction: 0.1, bytesCopied: 0, copyStartedMs: null, copyEndedMs: null, error: null });
    expect(early.status).toBe(409);
    expect(early.json.error.code).toBe('bad-state');
    const checked = await waitForState(GOOD, ['installing', 'failed']);
    expect(checked.error, JSON.stringify(checked.error)).toBeNull();
    const { go } = request(`/targets/${GOOD}`).json;
    expect(go.system).toMatch(/^\/nix\/store\/[0-9a-z]{32}-/);
    expect((await stat(go.system)).isDirectory()).toBe(true);
    expect(go.closureBytes).toBeGreaterThan(4_000_000);
    expect(go).toMatchObject({ closureHash: closureHashOf([go.system]), checkWarnings: [] });
    expect(go.closurePaths).toBe(execFileSync('nix-store', ['--query', '--requisites', '--', go.system], { encoding: 'utf8' }).trim().split('\n').length);
    expect(go.answers).toMatchObject({ disk: '/dev/disk/by-id/virtio-fleet', layout: { type: 'efi-ext4' }, user: 'alice' });
    // The store's key only sealed, to the key this target registered with.
    expect(go.store.privateKey).toBeUndefined();
    expect(JSON.stringify(go)).not.toContain('PRIVATE KEY');
    expect(goSecrets(go)).toMatchObject({ privateKey: expect.stringMatching(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/), passwordHash: null, passphrase: null });
    // The check's log on the seed counts as a log of an install that wrote nothing (pruned with the refused ones).
    const logs = (await readdir(daemon!.logDir)).filter((name) => name.startsWith(`install-fleet-${GOOD.replaceAll(':', '')}-`));
    expect(logs).toHaveLength(1);
    const lastLine = (await readFile(join(daemon!.logDir, logs[0]!), 'utf8')).trim().split('\n').at(-1)!;
    expect(JSON.parse(lastLine)).toMatchObject({ state: 'succeeded', targetTouched: false });
  });

  it("evaluates the target's own probe (as the eval user): a broken one fails the check, naming the seed's hardware-configuration.nix", async () => {
    request('/targets', { mac: BROKEN_PROBE, hardware: { ...HARDWARE, config: '{ ... }:\n{\n  boot.initrd.availableKernelModules = [ "virtio_pci" \n}\n' }, sealKey: SEAL.publicKey });
    const failed = await waitForState(BROKEN_PROBE, ['failed', 'installing']);
    expect(failed.state).toBe('failed');
    expect(`${failed.error.title}\n${failed.error.description}`).toContain('hardware-configuration.nix');
  });

  it("refuses a layout the target's firmware cannot start, naming the field, before any evaluation", async () => {
    const registered = request('/targets', { mac: WRONG_FIRMWARE, hardware: HARDWARE, sealKey: SEAL.publicKey });
    expect(registered.status).toBe(200);
    const failed = await waitForState(WRONG_FIRMWARE, ['failed', 'installing']);
    expect(failed.state).toBe('failed');
    expect(failed.error.field).toBe('layout');
    expect(failed.error.title).toContain('bios-ext4 needs a BIOS');
    expect(failed.error.title).toContain('started with UEFI');
  });

  it('refuses a system that fails an unattended check (a user the configuration does not declare), with the check\'s words', async () => {
    request('/targets', { mac: UNDECLARED_USER, hardware: HARDWARE, sealKey: SEAL.publicKey });
    const failed = await waitForState(UNDECLARED_USER, ['failed', 'installing']);
    expect(failed.state).toBe('failed');
    expect(`${failed.error.title}\n${failed.error.description}`).toContain('bob');
    expect(failed.error.description).toContain("The seed's log of this check:");
  });
});

describe("the target copies its system from the seed's store over Nix's ssh-ng", () => {
  it('into an empty store, from a private mount namespace, with the key and host key the go gave', async () => {
    const own = request(`/targets/${GOOD}`).json.go;
    expect(own.store).toMatchObject({ host: SEED, port: Number(PORT) + 1, user: 'root' });
    expect(own.store.hostKey).toMatch(/^ssh-ed25519 /);
    const work = join(dir, 'target-work');
    const root = join(dir, 'target-root');
    await mkdir(work, { mode: 0o700 });
    await mkdir(root);
    await writeFile(join(work, 'copy.mjs'), copyFromSeedScript(join(REPO, 'dist'), { ...own.store, privateKey: goSecrets(own).privateKey }, work, root, own.system));
    const copy = inNetns(target, emptyStoreCommand([process.execPath, join(work, 'copy.mjs')]), { env: testEnv(), timeoutMs: CHECK_DEADLINE_MS });
    expect(copy.code, `${copy.stdout}\n${copy.stderr}`).toBe(0);
    expect(copy.stdout).toMatch(/copied paths: [1-9]/);
    const valid = inNetns(target, ['nix-store', '--store', `local?root=${root}`, '--check-validity', '--print-invalid', own.system], { env: testEnv() });
    expect(valid.code, valid.stderr).toBe(0);
    expect(valid.stdout.trim()).toBe('');
  });

  it('lets the key run nothing but nix-daemon --stdio: no shell, no file read', async () => {
    const work = join(dir, 'target-work');
    const ssh = inNetns(target, ['ssh', '-p', String(Number(PORT) + 1), '-i', join(work, 'key'), '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${join(work, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', `root@${SEED}`, 'cat /etc/shadow; id'], { env: testEnv(), timeoutMs: 30_000 });
    // ssh itself got in (255 is its own failure: no connection, key refused); what ran was the forced command.
    expect(ssh.code, ssh.stderr).not.toBe(255);
    expect(ssh.stdout).not.toContain('root:');
    expect(ssh.stdout).not.toContain('uid=');
  });
});

describe('a fleet target installs itself (install --fleet), with an empty store, on its own disk', () => {
  it('registers, waits for the go, partitions, copies from the seed over ssh-ng, installs, and the seed shows its receipt', async () => {
    const own = join(dir, 'fleet-target');
    // By the time the seed's daemon logged them (the earlier tests' lines may not have been read from its output yet).
    const startedMs = Date.now();
    const logins = () => logEntries(daemon!, `Accepted publickey for root from ${NET}.50 `).filter((entry) => (entry.time as number) >= startedMs);
    // An old file system on the disk, which the answer file's wipe erases: a warning the receipt keeps.
    const installed = await installFleetTarget(own, target, join(dir, 'answers'), URL, secret, 3 * GiB, { before: (disk) => void execFileSync('mkfs.ext4', ['-q', '-F', '--', disk.device]), extra: { wipe: true } });
    targetDaemon = installed.daemon;
    const { run, mac, disk } = installed;
    const result = resultOf(run);
    expect(result?.ok, JSON.stringify(result?.error ?? run.stderr)).toBe(true);
    // The seed stands where a configuration folder would.
    expect(run.events.find((e) => e.type === 'reply')?.data.source).toBe(URL);
    const phases = run.events.filter((e) => e.type === 'phase').map((e) => e.data.phase);
    expect(phases).toEqual(['hardware', 'validate', 'partition', 'format', 'mount', 'stage', 'copy', 'install', 'report']);
    // Nix 2.26 opens an ssh-ng connection for each path it copies; they are sessions of the copy's one
    // connection, so the seed's sshd logs in this target once.
    expect(logLinesOf(run.events).map((l) => l.line)).toContain(`one SSH connection to the seed ${SEED} carries the copy`);
    expect(logins().map((entry) => entry.msg)).toHaveLength(1);
    // That connection ended with the copy: no ssh master is left in the target's network namespace.
    const masters = pidsWith('ControlMaster=yes', await installed.daemon.netns());
    expect(masters).toEqual([]);

    const shown = status().find((t) => t.mac === mac);
    expect(shown).toMatchObject({ state: 'succeeded', phase: 'report', fraction: 1, error: null, receipt: join(dir, 'fleet', 'receipts', `${mac}.json`) });
    expect(shown.copyEndedMs).toBeGreaterThanOrEqual(shown.copyStartedMs);
    expect(shown.bytesCopied).toBeGreaterThan(4_000_000);
    const receipt = JSON.parse(await readFile(shown.receipt, 'utf8'));
    const { go } = request(`/targets/${mac}`).json;
    expect(go).toBeNull();
    expect(receipt).toMatchObject({ mac, seed: URL, disk: { path: disk.device, device: disk.device, pttype: 'gpt' } });
    // The disk and its partitions by the UUIDs they really have: sfdisk's table (GPT's own), blkid's probe (file systems).
    const real = JSON.parse(execFileSync('sfdisk', ['--json', '--', disk.device], { encoding: 'utf8' })).partitiontable;
    expect(receipt.disk.ptuuid).toBe(real.id.toLowerCase());
    expect(receipt.disk.partitions.map((p: any) => [p.device, p.partuuid])).toEqual(real.partitions.map((p: any) => [p.node, p.uuid.toLowerCase()]));
    const rootFs = receipt.disk.partitions.at(-1);
    expect(rootFs).toMatchObject({ type: 'ext4', partlabel: 'nixos', uuid: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    for (const p of receipt.disk.partitions.filter((p: any) => p.type !== null)) expect(p.uuid).toBe(blkid(p.device).UUID);
    // The machine as its firmware names it, where readable (this machine's: the target daemon runs here).
    const dmi = (name: string) => (existsSync(`/sys/class/dmi/id/${name}`) ? readFileSync(`/sys/class/dmi/id/${name}`, 'utf8').trim() || null : null);
    expect(receipt.dmi).toEqual({ vendor: dmi('sys_vendor'), product: dmi('product_name'), serial: dmi('product_serial') });
    expect(receipt.system).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-/);
    expect(receipt.phases.map((p: { phase: string }) => p.phase)).toEqual(phases);
    // The closure as the seed's store records it, which the target checked its own copy against.
    expect(receipt).toMatchObject({ closureHash: closureHashOf([receipt.system]), closurePaths: expect.any(Number) });
    expect(logLinesOf(run.events).map((l) => l.line)).toContain(`the copied closure is the seed's: ${receipt.closurePaths} paths, ${receipt.closureHash}`);
    expect(receipt.warnings).toContainEqual(expect.stringMatching(new RegExp(`^\\[validate\\] ${disk.device} holds ext4; "wipe": true, so it will be erased$`)));

    // The disk holds the system (copied into its own store) and the receipt, and nothing is left mounted.
    expect(activeUses(disk.device)).toEqual({ mounts: [], swaps: [] });
    const rootNode = partitionTable(disk.device).partitions.at(-1)!.node;
    await withReadOnly(rootNode, own, 'check', async (root) => {
      expect(existsSync(join(root, receipt.system))).toBe(true);
      // Written during its last phase, whose end only the seed's copy has.
      const onDisk = JSON.parse(await readFile(join(root, 'var/log/nixos-offline-installer/receipt.json'), 'utf8'));
      expect({ ...onDisk, phases: onDisk.phases.slice(0, -1) }).toEqual({ ...receipt, phases: receipt.phases.slice(0, -1) });
      expect((await readFile(join(root, 'etc/.stand-in-activated'), 'utf8')).trim()).toBe(receipt.system);
      // /etc/nixos: the configuration the seed checked, with this machine's probe as its hardware configuration.
      const source = join(dir, 'nix-cfg');
      const files = (await readdir(source)).filter((name) => name !== 'hardware-configuration.nix');
      expect(files.length).toBeGreaterThan(0);
      for (const name of files) expect(await readFile(join(root, 'etc/nixos', name), 'utf8'), name).toBe(await readFile(join(source, name), 'utf8'));
      // The target's own probe (nixos-generate-config's stand-in here), not the registration of another machine.
      expect(await readFile(join(root, 'etc/nixos/hardware-configuration.nix'), 'utf8')).toContain('"xhci_pci"');
      const staged = await stat(join(root, 'etc/nixos'));
      expect([staged.uid, staged.isDirectory()]).toEqual([0, true]);
      for (const name of await readdir(join(root, 'etc/nixos'))) expect((await stat(join(root, 'etc/nixos', name))).uid, name).toBe(0);
    });
  });
});

describe("a target's reports and fleet status", () => {
  it('takes progress once the target has the go, then its result and receipt, and shows them', async () => {
    const copy = request(`/targets/${GOOD}/report`, { state: 'installing', phase: 'copy', fraction: 0.5, bytesCopied: 123_000_000, copyStartedMs: 1_000, copyEndedMs: null, error: null });
    expect(copy.status, JSON.stringify(copy.json)).toBe(200);
    const json = fleetStatus(seed, ['--socket', daemon!.socket, '--fleet', URL, '--json']);
    expect(json.code, json.stderr).toBe(0);
    const shown = JSON.parse(json.stdout).targets.find((t: any) => t.mac === GOOD);
    expect(Object.keys(shown)).toEqual(['mac', 'state', 'phase', 'fraction', 'bytesCopied', 'copyStartedMs', 'copyEndedMs', 'error', 'receipt']);
    expect(shown).toMatchObject({ state: 'installing', phase: 'copy', fraction: 0.5, bytesCopied: 123_000_000, copyStartedMs: 1_000, copyEndedMs: null, receipt: null });

    const receipt = { system: '/nix/store/x', disk: '/dev/vda', mac: GOOD };
    const done = request(`/targets/${GOOD}/report`, { state: 'succeeded', phase: 'report', fraction: 1, bytesCopied: 246_000_000, copyStartedMs: 1_000, copyEndedMs: 5_000, error: null, receipt });
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    const path = done.json.target.receipt;
    expect(path).toBe(join(dir, 'fleet', 'receipts', `${GOOD}.json`));
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual(receipt);
    // Its end is final: a later report is refused.
    expect(request(`/targets/${GOOD}/report`, { state: 'failed', phase: null, fraction: 0, bytesCopied: 0, copyStartedMs: null, copyEndedMs: null, error: { code: 'x', title: 'x', description: 'x' } }).status).toBe(409);

    // From another machine on the fleet's network, with the secret in a file; as text.
    const secretFile = join(dir, 'secret');
    await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
    const text = fleetStatus(target, ['--fleet', URL, '--secret-file', secretFile]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toBe(`fleet ${URL}: 2 succeeded, 3 failed`);
    expect(lines).toContain(`${GOOD}  succeeded  report 100 %  246.0 MB copied in 4 s  receipt ${path}`);
    expect(text.stdout).toContain(`${WRONG_FIRMWARE}  failed  hardware 0 %\n    `);
  });

  it("serves a target's configuration only with the secret and only while it has the go", () => {
    expect(request(`/targets/${GOOD}/config.tar`, undefined, 'wrong').status).toBe(403);
    const refused = request(`/targets/${WRONG_FIRMWARE}/config.tar`);
    expect([refused.status, refused.json.error.code]).toEqual([409, 'bad-state']);
    expect(request(`/targets/${GOOD}/config.tar`, {}).status).toBe(405);
  });

  it('refuses a report that is not one, naming the field, and one from a target that never registered', () => {
    const bad = request(`/targets/${GOOD}/report`, { state: 'installing', phase: 'dance', fraction: 0.5, bytesCopied: 0, copyStartedMs: null, copyEndedMs: null, error: null });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe('phase');
    const stranger = request('/targets/52:54:00:00:09:09/report', { state: 'failed', phase: null, fraction: 0, bytesCopied: 0, copyStartedMs: null, copyEndedMs: null, error: { code: 'x', title: 'x', description: 'x' } });
    expect(stranger.status).toBe(409);
    expect(request(`/targets/${GOOD}`, undefined, 'wrong').status).toBe(403);
  });

  it("fleet status says where to get the secret when it has none, and that a seed does not answer", async () => {
    const noSecret = fleetStatus(target, ['--fleet', URL], join(dir, 'elsewhere'));
    expect(noSecret.code).toBe(2);
    expect(noSecret.stderr).toContain('--secret-file');
    // A daemon given --fleet-dir: the seed's fleet status is pointed at the same folder.
    const pointed = fleetStatus(seed, ['--fleet-dir', join(dir, 'fleet'), '--json'], join(dir, 'elsewhere'));
    expect(pointed.code, pointed.stderr).toBe(0);
    expect(JSON.parse(pointed.stdout).targets.map((t: any) => t.mac)).toContain(GOOD);
    const secretFile = join(dir, 'secret');
    const away = fleetStatus(target, ['--fleet', 'http://10.78.0.9:8472', '--secret-file', secretFile, '--json']);
    expect(away.code).toBe(3);
    expect(JSON.parse(away.stdout.trim().split('\n').at(-1)!).data.code).toBe('fleet-unavailable');
  }, README_STOP_DEADLINE_MS * 3);
});

describe('an encrypted target ("layout.encrypt"): what the go holds sealed', () => {
  it("sends the passphrase, password hash and store key sealed to the target's key, and keeps the passphrase file out of its configuration", async () => {
    // In the seed's configuration folder: the configuration the target gets for its /etc/nixos leaves it out.
    const passphraseFile = join(dir, 'nix-cfg', 'luks-passphrase.txt');
    await writeFile(passphraseFile, 'correct horse\n', { mode: 0o600 });
    const layout = { type: 'efi-ext4', swap: '64MiB', encrypt: { passphraseFile } };
    await writeFile(join(dir, 'answers', `${ENCRYPTED}.json`), JSON.stringify({ disk: '/dev/vda', layout, user: 'alice', passwordHash: PASSWORD_HASH }));
    expect(request('/targets', { mac: ENCRYPTED, hardware: HARDWARE, sealKey: SEAL.publicKey }).status).toBe(200);
    const checked = await waitForState(ENCRYPTED, ['installing', 'failed']);
    expect(checked.error, JSON.stringify(checked.error)).toBeNull();
    const reply = request(`/targets/${ENCRYPTED}`).json;
    const clear = JSON.stringify(reply);
    for (const secretText of ['correct horse', Buffer.from('correct horse').toString('base64'), PASSWORD_HASH, 'PRIVATE KEY']) expect(clear).not.toContain(secretText);
    expect(reply.go.answers).toMatchObject({ layout: { type: 'efi-ext4', encrypt: { passphraseBytes: 13 } }, user: 'alice' });
    expect(reply.go.answers.passwordHash).toBeUndefined();
    const secrets = goSecrets(reply.go);
    // What is typed at boot: the file less its newline.
    expect(Buffer.from(secrets.passphrase!, 'base64').toString()).toBe('correct horse');
    expect(secrets.passwordHash).toBe(PASSWORD_HASH);
    expect(secrets.privateKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    // Another key opens nothing.
    expect(() => unseal(reply.go.sealed, sealKeyPair().privateKey)).toThrow();
    // The configuration comes sealed too: not a tar on the wire; opened with the key, one without the passphrase file.
    const archive = join(dir, 'encrypted-config.tar');
    const headers = join(dir, 'encrypted-config.headers');
    expect(curl(target, ['-H', `Authorization: Bearer ${secret}`, '-D', headers, '-o', `${archive}.sealed`, `${URL}/targets/${ENCRYPTED}/config.tar`]).status).toBe(200);
    expect(() => execFileSync('tar', ['--list', '--file', `${archive}.sealed`], { stdio: 'ignore' })).toThrow();
    expect((await readFile(`${archive}.sealed`)).includes('configuration.nix')).toBe(false);
    const header = /^x-noi-sealed: (\S+)\r?$/im.exec(await readFile(headers, 'utf8'))?.[1] ?? null;
    await openSealedFile(`${archive}.sealed`, archive, header, SEAL.privateKey, 'The configuration', URL);
    const members = execFileSync('tar', ['--list', '--file', archive], { encoding: 'utf8' }).split('\n');
    expect(members).toContain('./configuration.nix');
    expect(members).not.toContain('./luks-passphrase.txt');
  });

  // The target's daemon makes its own key: the passphrase reaches it only through the seal.
  const encryptedTarget = async (name: string) => {
    await rm(join(dir, 'nix-cfg', 'luks-passphrase.txt'), { force: true });
    await writeFile(join(dir, 'luks-passphrase.txt'), 'correct horse\n', { mode: 0o600 });
    const layout = { type: existsSync('/sys/firmware/efi') ? 'efi-ext4' : 'bios-ext4', swap: '64MiB', encrypt: { passphraseFile: join(dir, 'luks-passphrase.txt') } };
    const installed = await installFleetTarget(join(dir, name), target, join(dir, 'answers'), URL, secret, 3 * GiB, { extra: { layout } });
    targetDaemon = installed.daemon;
    const lines = logLinesOf(installed.run.events).map((l) => l.line);
    const kept = lines.map((line) => /^the disk passphrase came sealed from the seed; it is kept in (\S+) /.exec(line)?.[1]).find(Boolean);
    expect(kept, lines.join('\n')).toBeDefined();
    // Removed at the install's end, whatever the end.
    expect(existsSync(kept!)).toBe(false);
    return installed;
  };

  it.runIf(NO_DM)("on a kernel without dm-crypt, the target opens the seal and is refused before its disk is touched", async () => {
    await endDiskTest(join(dir, 'fleet-target'), targetDaemon).catch(() => undefined);
    const { run, disk } = await encryptedTarget('fleet-target-luks');
    const { error } = resultOf(run);
    expect(error).toMatchObject({ code: 'answers-invalid', field: 'layout.encrypt', title: 'Encryption cannot run on this machine' });
    expect(isBlank(disk)).toBe(true);
  });

  it.skipIf(NO_DM)(`installs the target onto LUKS2 root and swap that open with the passphrase${NO_DM ? ` (skipped: ${NO_DM})` : ''}`, async () => {
    await endDiskTest(join(dir, 'fleet-target'), targetDaemon).catch(() => undefined);
    const { run, disk } = await encryptedTarget('fleet-target-luks');
    expect(resultOf(run)?.ok, JSON.stringify(resultOf(run)?.error ?? run.stderr)).toBe(true);
    const [, swap, root] = partitionTable(disk.device).partitions.map((p) => p.node);
    for (const node of [swap!, root!]) {
      expect(blkid(node)).toMatchObject({ TYPE: 'crypto_LUKS', VERSION: '2' });
      execFileSync('cryptsetup', ['open', '--test-passphrase', '--key-file', '-', node], { input: 'correct horse' });
    }
  });
});

describe('an answer file without a layout', () => {
  it('is refused by the seed for a configuration without disko, naming the field, once it is evaluated', async () => {
    await writeFile(join(dir, 'answers', `${NO_LAYOUT}.json`), JSON.stringify({ disk: '/dev/vda', user: 'alice' }));
    expect(request('/targets', { mac: NO_LAYOUT, hardware: HARDWARE, sealKey: SEAL.publicKey }).status).toBe(200);
    const failed = await waitForState(NO_LAYOUT, ['failed', 'installing']);
    expect(failed).toMatchObject({ state: 'failed', error: { field: 'layout', title: expect.stringContaining('"layout" is missing') } });
    expect(failed.error.description).toContain('does not describe its disks with disko');
  });
});

describe('a target that fails on its own side, after the go', () => {
  it('says why, the seed shows the same error and phase, and its disk is untouched', async () => {
    await endDiskTest(join(dir, 'fleet-target-luks'), targetDaemon).catch(() => undefined);
    // The seed checks and builds the system; the target then finds its disk too small for it.
    const installed = await installFleetTarget(join(dir, 'fleet-target-small'), target, join(dir, 'answers'), URL, secret, 64 * 1024 ** 2);
    targetDaemon = installed.daemon;
    const { error } = resultOf(installed.run)!;
    expect(error).toMatchObject({ code: 'answers-invalid', field: 'disk', title: expect.stringContaining(`The disk ${installed.disk.device} is too small`) });
    const shown = status().find((t) => t.mac === installed.mac);
    expect(shown).toMatchObject({ state: 'failed', phase: 'validate', receipt: null, error: { code: error!.code, field: 'disk', title: error!.title, description: error!.description } });
    expect(isBlank(installed.disk)).toBe(true);
  });
});

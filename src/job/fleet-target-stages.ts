// A fleet target's install (`install --fleet URL`): it never evaluates. It
// sends the seed its MAC and hardware probe, waits while the seed checks and
// builds its system (fleet-check-stages.ts, on the seed), checks its own disk
// as an unattended install does, partitions, formats and mounts it, stages the
// configuration the seed checked in /etc/nixos, copies the system from the
// seed's store over Nix's ssh-ng, installs, writes its receipt, and tells the
// seed each phase and its end.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import type { KeyObject } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Answers } from '../common/answers.js';
import { InstallError } from '../common/install-error.js';
import { inspectDisk, type DiskInfo } from '../disk/block-device.js';
import { checkRootMountPoint, matchDiskoDisk, type DiskoPlan } from '../disk/disko.js';
import { checkDisk, checkDiskSize } from '../disk/check-disk.js';
import { readDiskIds } from '../disk/disk-ids.js';
import { DiskSession } from '../disk/disk-session.js';
import { formatBytes } from '../disk/sizes.js';
import { copyWithProgress } from '../copy/copy-with-progress.js';
import { keepFlakeInputs } from '../copy/flake-input-roots.js';
import { closureHash } from '../nix/closure-hash.js';
import { copyFromSeed, knownHostsLine, type SeedStore } from '../nix/ssh-ng.js';
import { showHardwareConfig } from '../prepare/hardware-config.js';
import { targetFirmware } from '../prepare/firmware.js';
import { TARGET_LOG_DIR } from '../report/write-target-log.js';
import type { FleetGo } from '../protocol/fleet.js';
import { sealKeyPair, unseal, type GoSecrets } from '../protocol/sealed.js';
import { unpackConfig } from '../stage/config-archive.js';
import { markStagedConfig, stageConfig } from '../stage/stage-config.js';
import { SeedClient, macTowards, openSealedFile, readDmi, sealRefused, type FleetRun } from './fleet-seed.js';
import { installStage, reportStage } from './shared-stages.js';
import { defineStage, overallFraction, type InstallRun, type Pipeline, type Stage } from './stage.js';
import { formatStage, mountDisko, mountLayout, partitionStage, setAnswersPassword } from './unattended-stages.js';
import { LIVE_SYSTEM_PATHS, checkScripts } from './unattended.js';

const RECEIPT = 'receipt.json';
// Reports of the copy's progress, at most this often.
const REPORT_EVERY_MS = 1_000;

function fleetOf(install: InstallRun): FleetRun & { go: NonNullable<FleetRun['go']> } {
  const fleet = install.fleet;
  if (!fleet?.go) throw new InstallError('internal-error', 'No go from the seed', 'This is a bug in the installer; please report it with the log.');
  return fleet as FleetRun & { go: NonNullable<FleetRun['go']> };
}

// The probe, the registration, and the wait while the seed checks and builds this machine's system.
const registerStage = defineStage('hardware', async (install) => {
  const { ctx, request } = install;
  const { url, secret } = request.fleet!;
  const client = new SeedClient(url, secret, macTowards(new URL(url).hostname));
  const hardware = { config: await showHardwareConfig(ctx, null, true), firmware: targetFirmware(), dmi: await readDmi() };
  // Made for this install alone: the seed seals the go's secrets and the configuration to it.
  const keys = sealKeyPair();
  install.fleet = { client, go: null, key: keys.privateKey, secrets: null, privateDir: null, copyStartedMs: null, copyEndedMs: null, bytesCopied: 0, phases: [], dmi: hardware.dmi, diskIds: null };
  const registered = await client.register(hardware, keys.publicKey);
  ctx.log('daemon', `registered with the seed ${url} as ${client.mac}: its answer file ${registered.answerFile} installs on ${registered.disk}`);
  let said = '';
  install.fleet.go = await client.waitForGo(ctx.signal, (target) => {
    const now = target.state === 'checking' ? `the seed checks this machine's system (${target.phase ?? 'starting'}, ${Math.floor(target.fraction * 100)} %)` : 'waiting for the seed to check this machine\'s system';
    if (now !== said) ctx.log('daemon', (said = now));
    ctx.progress(target.fraction * 0.9, undefined, now);
  });
  install.fleet.secrets = openGo(install.fleet.go, keys.privateKey, url);
  install.toplevel = install.fleet.go.system;
  ctx.log('daemon', `the seed built ${install.fleet.go.system} (${formatBytes(install.fleet.go.closureBytes)}) for this machine`);
  ctx.progress(1);
});

function openGo(go: FleetGo, key: KeyObject, url: string): GoSecrets {
  try {
    return unseal(go.sealed, key);
  } catch {
    // The sealed part: the store's key, the password hash, a disk passphrase.
    throw sealRefused('The go', url);
  }
}

// The go's answers with what came sealed: the password hash, and a LUKS passphrase as a file of this install's alone.
async function answersOf(install: InstallRun): Promise<Answers> {
  const fleet = fleetOf(install);
  const answers = structuredClone(fleet.go.answers) as unknown as Answers;
  const { passwordHash, passphrase } = fleet.secrets!;
  if (passwordHash !== null) answers.passwordHash = passwordHash;
  if (!answers.layout?.encrypt) return answers;
  if (passphrase === null) throw new InstallError('fleet-refused', 'The seed sent no disk passphrase', 'The answer file asks for encryption ("layout.encrypt"), but the go holds no passphrase. Network-boot this machine again; if it happens again, check fleet serve\'s journal on the seed.');
  fleet.privateDir = await mkdtemp(join(tmpdir(), 'noi-fleet-luks-'));
  const bytes = Buffer.from(passphrase, 'base64');
  const passphraseFile = join(fleet.privateDir, 'passphrase');
  await writeFile(passphraseFile, bytes, { mode: 0o600 });
  answers.layout.encrypt = { passphraseFile, passphraseBytes: bytes.length };
  install.ctx.log('daemon', `the disk passphrase came sealed from the seed; it is kept in ${passphraseFile} (root's, in memory on a netbooted machine) until the install ends`);
  return answers;
}

// The seed's store over ssh-ng for FN, with the go's key and the seed's host key in files of this machine's only.
async function withSeedStore<T>(install: InstallRun, fn: (seed: SeedStore) => Promise<T>): Promise<T> {
  const fleet = fleetOf(install);
  const { store } = fleet.go;
  const keys = await mkdtemp(join(tmpdir(), 'noi-fleet-'));
  try {
    await writeFile(join(keys, 'key'), fleet.secrets!.privateKey, { mode: 0o600 });
    await writeFile(join(keys, 'known_hosts'), knownHostsLine(store, store.hostKey), { mode: 0o600 });
    return await fn({ host: store.host, port: store.port, keyFile: join(keys, 'key'), knownHostsFile: join(keys, 'known_hosts'), controlPath: join(keys, 'ssh-connection') });
  } finally {
    await rm(keys, { recursive: true, force: true });
  }
}

// A disko configuration's layout: its disk must be the answer file's here too, and its scripts (built on the seed)
// come into this machine's own store to be run on it.
async function diskoFromSeed(install: InstallRun, disk: DiskInfo, answers: Answers): Promise<DiskoPlan> {
  const { ctx } = install;
  const fleet = fleetOf(install);
  const facts = fleet.go.disko!;
  const source = `the configuration the seed ${fleet.client.host} checked`;
  const plan = await matchDiskoDisk(facts, disk, answers, source, 'built');
  ctx.log('validate', `the configuration lays out its disks with disko: disko.devices.disk.${plan.diskName} is ${plan.device}, mounted at ${facts.rootMountPoint}; copying its format and mount scripts from the seed`);
  await withSeedStore(install, (seed) => copyFromSeed(ctx, seed, '/', [facts.formatScript, facts.mountScript], { started() {}, finished() {} }));
  await checkScripts(plan);
  await checkRootMountPoint(facts, source);
  return plan;
}

// The disk's own checks, as an unattended install's: it exists, is not the live medium, may be erased, and holds the system.
const diskCheckStage = defineStage('validate', async (install) => {
  const { ctx } = install;
  const { go } = fleetOf(install);
  const answers = await answersOf(install);
  const disk = await inspectDisk(answers.disk);
  ctx.log('daemon', `disk ${answers.disk}: ${disk.device}, ${formatBytes(disk.sizeBytes)}`);
  const disko = go.disko ? await diskoFromSeed(install, disk, answers) : null;
  install.plan = { answers, disk, disko };
  const checked = (install.checked = await checkDisk(ctx, disk, answers, LIVE_SYSTEM_PATHS));
  const need = checkDiskSize(checked.disk, answers.layout, go.closureBytes);
  ctx.log('validate', `${checked.disk.device} has ${formatBytes(checked.disk.sizeBytes)}; the install needs ${formatBytes(need.totalBytes)} (${need.explanation})`);
  install.session = disko ? await DiskSession.forDisko({ rootMountPoint: disko.facts.rootMountPoint, diskName: checked.disk.name }) : await DiskSession.create();
  ctx.root = install.session.mountPoint;
  ctx.progress(1);
});

const mountStage = defineStage('mount', (install) => (install.plan!.disko ? mountDisko(install) : mountLayout(install)));

// The configuration the seed checked and built (this machine's hardware configuration in it) to /etc/nixos,
// so that nixos-rebuild on the installed machine starts from it. Unpacked in private first, never onto the target.
const configStage = defineStage('stage', async (install) => {
  const { ctx } = install;
  const fleet = fleetOf(install);
  install.targetTouched = true;
  const folder = await mkdtemp(join(tmpdir(), 'noi-fleet-config-'));
  try {
    const archive = join(folder, 'config.tar');
    const header = await fleet.client.download(`/targets/${fleet.client.mac}/config.tar`, `${archive}.sealed`, 'the configuration', ctx.signal);
    await openSealedFile(`${archive}.sealed`, archive, header, fleet.key, 'The configuration', fleet.client.url);
    await mkdir(join(folder, 'nixos'), { mode: 0o700 });
    await unpackConfig(ctx, archive, join(folder, 'nixos'));
    await stageConfig(ctx, join(folder, 'nixos'), `the configuration the seed ${fleet.client.host} checked for ${fleet.client.mac}`, 'roots-alone');
    await markStagedConfig(ctx);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
  ctx.progress(1);
});

// The system's closure from the seed's store into the target's, over ssh-ng with the key and host key of the go.
const copyStage = defineStage('copy', async (install) => {
  const { ctx } = install;
  const fleet = fleetOf(install);
  const { closureBytes, closure, flakeInputs } = fleet.go;
  const roots = copyRoots(fleet.go);
  install.targetTouched = true;
  await withSeedStore(install, async (seed) => {
    fleet.copyStartedMs = Date.now();
    let reported = 0;
    // Bytes as the live store's copy counts them (Nix's own counts, or sampled on the disk with Nix 2.8).
    await copyWithProgress(ctx, closure, (on) => copyFromSeed(ctx, seed, ctx.root, roots, on), (counts) => {
      fleet.bytesCopied = counts.bytesDone;
      if (Date.now() - reported >= REPORT_EVERY_MS) {
        reported = Date.now();
        void tell(install, 'copy', counts.bytesTotal === 0 ? 1 : counts.bytesDone / counts.bytesTotal);
      }
    });
    fleet.copyEndedMs = Date.now();
    ctx.log('copy', `copied ${closure.length} paths (${formatBytes(closureBytes)}) from the seed in ${((fleet.copyEndedMs - fleet.copyStartedMs) / 1000).toFixed(1)} s`);
  });
  await checkCopiedClosure(install, roots);
  if (flakeInputs.length > 0) await keepFlakeInputs(ctx, flakeInputs);
});

// What the target copies: the system and a flake's inputs.
function copyRoots(go: FleetGo): string[] {
  return [go.system, ...go.flakeInputs.map((input) => input.storePath!)];
}

// The closure of ROOTS as this machine's store now records it (its paths and their NAR hashes) must be the one the
// seed built: a path missing or different (a seed whose store changed between check and copy) stops the install
// before it boots.
async function checkCopiedClosure(install: InstallRun, roots: readonly string[]): Promise<void> {
  const { ctx } = install;
  const { go } = fleetOf(install);
  const copied = await closureHash(ctx, roots, ctx.root);
  if (copied.hash !== go.closureHash) {
    throw new InstallError(
      'closure-mismatch',
      "The system copied from the seed is not the one the seed checked",
      `The seed built ${go.system} with ${go.closurePaths} paths (closure ${go.closureHash}); this machine's store now holds ${copied.paths} paths of it (closure ${copied.hash}). ` +
        "Nothing boots from this disk yet. Check the seed's store (nix-store --verify --check-contents on the seed), then network-boot this machine again.",
    );
  }
  ctx.log('copy', `the copied closure is the seed's: ${copied.paths} paths, ${copied.hash}`);
}

// The receipt: what was installed where (the disk's and partitions' UUIDs as blkid read them back), on which machine
// (MAC, DMI where readable), and how long each phase took. On the target, and sent to the seed.
function receiptOf(install: InstallRun): Record<string, unknown> {
  const fleet = fleetOf(install);
  const { plan, formatted } = install;
  return {
    mac: fleet.client.mac,
    dmi: fleet.dmi,
    seed: fleet.client.url,
    system: fleet.go.system,
    closureBytes: fleet.go.closureBytes,
    closurePaths: fleet.go.closurePaths,
    // Checked against this machine's store after the copy (checkCopiedClosure).
    closureHash: fleet.go.closureHash,
    disk: plan ? { path: plan.answers.disk, ...(fleet.diskIds ?? { device: plan.disk.device, pttype: null, ptuuid: null, partitions: [] }) } : null,
    formatted: formatted ? { root: formatted.root, esp: formatted.esp, swap: formatted.swap, details: formatted.partitions } : null,
    choices: plan?.answers.choices ?? {},
    phases: fleet.phases,
    copy: { startedMs: fleet.copyStartedMs, endedMs: fleet.copyEndedMs, bytes: fleet.bytesCopied },
    // The seed's check's warnings, then this machine's own.
    warnings: [...fleet.go.checkWarnings, ...install.warnings()],
  };
}

const receiptStage = defineStage(
  'report',
  async (install) => {
    fleetOf(install).diskIds = await readDiskIds(install.ctx, install.plan!.disk);
    const folder = join(install.ctx.root, TARGET_LOG_DIR);
    await mkdir(folder, { recursive: true, mode: 0o755 });
    await writeFile(join(folder, RECEIPT), `${JSON.stringify(receiptOf(install), null, 2)}\n`, { mode: 0o644 });
    install.ctx.log('daemon', `the receipt is on the installed system as /${TARGET_LOG_DIR}/${RECEIPT}`);
  },
  reportStage.release,
);

const STAGES = [registerStage, diskCheckStage, partitionStage, formatStage, mountStage, configStage, copyStage, installStage(setAnswersPassword), receiptStage];

async function tell(install: InstallRun, phase: string, phaseFraction: number): Promise<void> {
  const fleet = install.fleet;
  if (!fleet?.go) return;
  const problem = await fleet.client.report({ state: 'installing', phase, fraction: overallFraction(phase, phaseFraction, STAGES), bytesCopied: fleet.bytesCopied, copyStartedMs: fleet.copyStartedMs, copyEndedMs: fleet.copyEndedMs, error: null });
  if (problem) install.ctx.log('daemon', `the seed did not take the report: ${problem}`, 'warn');
}

// Each phase is told to the seed as it starts (once the go is given), and timed for the receipt.
function told(stage: Stage): Stage {
  return {
    ...stage,
    async run(install) {
      const times = { phase: stage.phase, startedMs: Date.now(), endedMs: null as number | null };
      // The first phase makes the fleet run (registration): its times are kept once it is there.
      const before = install.fleet;
      before?.phases.push(times);
      await tell(install, stage.phase, 0);
      await stage.run(install);
      times.endedMs = Date.now();
      if (!before) install.fleet?.phases.unshift(times);
    },
  };
}

export const FLEET_TARGET: Pipeline = {
  async checkRequest() {},
  async start({ ctx, request }) {
    ctx.log('daemon', `fleet install from the seed ${request.fleet!.url}`);
  },
  stages: STAGES.map(told),
  again({ plan, formatted }) {
    if (!plan) return "Nothing was written to this machine's disks; network-boot it again once the seed shows why.";
    return formatted ? `The disk ${plan.answers.disk} may hold a partial system; network-boot this machine again to redo it.` : `The disk ${plan.answers.disk} may be partly partitioned; network-boot this machine again.`;
  },
  async ended(install, state, error) {
    const fleet = install.fleet;
    if (!fleet) return;
    if (fleet.privateDir) await rm(fleet.privateDir, { recursive: true, force: true });
    const base = { phase: install.fleet?.phases.at(-1)?.phase ?? null, bytesCopied: fleet.bytesCopied, copyStartedMs: fleet.copyStartedMs, copyEndedMs: fleet.copyEndedMs };
    const report =
      state === 'succeeded'
        ? { ...base, state: 'succeeded' as const, fraction: 1, error: null, receipt: receiptOf(install) }
        : { ...base, state: 'failed' as const, fraction: 0, error: { code: error?.code ?? 'cancelled', title: error?.title ?? 'The install was cancelled on the target', description: error?.description ?? 'Someone cancelled it on the target.', ...(error?.field !== undefined && { field: error.field }) } };
    const problem = await fleet.client.report(report);
    if (problem) install.ctx.log('daemon', `the seed did not take the result: ${problem}`, 'warn');
  },
};

// One install, start to finish: the configuration folder chosen when it was
// requested, the target checked (or, unattended, the answer file and its disk),
// then hardware, validate, (unattended: partition, format, mount,) stage,
// build, copy, install and report. Everything goes to this install's own log file and to
// the clients; the journal gets the installer's own lines (phases, checks, a
// summary per step, the result), not the commands' output. The result says
// what happened and, on failure, what to do.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UnsafePathError } from '../fs/beneath.js';
import { copyClosure } from '../copy/copy-closure.js';
import type { CheckedDisk } from '../disk/check-disk.js';
import { DiskSession } from '../disk/disk-session.js';
import type { Formatted } from '../disk/format.js';
import { plannedFileSystemsNix } from '../disk/planned-file-systems.js';
import { releaseDisk } from '../disk/release-disk.js';
import { keepFlakeInputs } from '../copy/flake-input-roots.js';
import { buildSystem } from '../build/build-system.js';
import { runNixosInstall } from '../install/run-nixos-install.js';
import { THEN_DELAY_SECONDS } from '../install/power-action.js';
import { setPassword } from '../install/set-password.js';
import { openInstallLog, type InstallLog, type LogLevel } from '../log/logger.js';
import { ATTENDED_PHASES, DISK_PHASES, PHASES, type Phase } from '../protocol/vocabularies.js';
import { HEARTBEAT_MS, LOG_TAIL_LINES, MAX_LOG_LINE_CHARS } from '../protocol/limits.js';
import { PHASE_TITLES } from '../protocol/titles.js';
import { PROTOCOL_VERSION, type AppliedChoice, type ErrorInfo, type InstallRequest, type ProgressEvent, type ResultEvent } from '../protocol/messages.js';
import { TARGET_LOG_DIR, writeTargetLog } from '../report/write-target-log.js';
import { resolveSource, type SourceChoice } from '../resolve/config-sources.js';
import { prepareConfig, probeMountedFileSystems, type PreparedConfig } from '../prepare/prepare-config.js';
import { targetFirmware } from '../prepare/firmware.js';
import { manifestProfiles, matchProfile } from '../prepare/hardware-profiles.js';
import { choiceLine, profileLine } from '../protocol/titles.js';
import { protectStagedSecrets } from '../stage/protect-secrets.js';
import { stageConfig } from '../stage/stage-config.js';
import { checkTargetFolders, checkTargetRoot } from '../validate/check-target-root.js';
import { checkFreeSpace } from '../step/free-space.js';
import { TARGET_NIX_DB } from '../copy/closure.js';
import { manifestFacts } from '../validate/config-facts.js';
import { validateConfig, validationError, type ValidationCache } from '../validate/validate-config.js';
import type { CopyCounts, JobContext, JobSettings } from '../step/context.js';
import { InstallCancelled, InstallError, errorMessage, stopReason } from '../step/install-error.js';
import { batchLogEvents } from './batch-log-events.js';
import type { InstallSink } from './install-sink.js';
import { RecentLines } from '../step/recent-lines.js';
import { clip } from '../step/clip.js';
import { checkDiskFits, layoutFirmware, prepareDisk, prepareDiskoDisk, readPlan, unattendedChoices, type UnattendedPlan } from './unattended.js';

// The hardware configuration's note where a layout's planned file systems would go.
const DISKO_FILE_SYSTEMS = "  # File systems: the configuration's disko layout declares them (disko.devices).\n";

// Share of the whole bar each phase takes. The copy dominates a real install
// (several GB from the squashfs); the build is mostly evaluation when the ISO
// already holds the system.
// The phases of an install into a mounted target make the whole bar; an
// unattended install's disk phases come on top, and its bar is scaled to fit.
export const PHASE_WEIGHTS: Record<Phase, number> = { hardware: 0.01, validate: 0.04, partition: 0.01, format: 0.02, mount: 0.01, stage: 0.02, build: 0.1, copy: 0.78, install: 0.04, report: 0.01 };

const PROGRESS_INTERVAL_MS = 50;
const TAIL_LINE_CHARS = 500;
const RECENT_PER_SOURCE = 50;
const MAX_DESCRIPTION_CHARS = 8000;
// A failure this soon before the daemon's own stop is the stop: with KillMode=control-group
// systemd signals the commands together with the daemon, and either may be seen first.
const STOP_GRACE_MS = 200;

export interface InstallParams {
  installId: string;
  request: InstallRequest;
  // The configuration folder, chosen when the install was requested (its reply names it).
  source: SourceChoice;
  settings: JobSettings & { logDir: string; logLevel: LogLevel };
  signal: AbortSignal;
  sink: InstallSink;
  // Checks of unchanged folders, shared with the daemon's live checks.
  validationCache?: ValidationCache;
}

// The whole install's fraction: the phases before this one, and this one's part. The
// weights of the phases an install has are scaled to fill the bar.
export function overallFraction(phase: Phase, phaseFraction: number, phases: readonly Phase[] = ATTENDED_PHASES): number {
  const total = phases.reduce((sum, p) => sum + PHASE_WEIGHTS[p], 0);
  let before = 0;
  for (const p of phases) {
    if (p === phase) break;
    before += PHASE_WEIGHTS[p];
  }
  return Math.min(1, (before + PHASE_WEIGHTS[phase] * Math.min(Math.max(phaseFraction, 0), 1)) / total);
}

function truncate(line: string, max: number): string {
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

// Errors from the file system that a person can do something about.
function describeUnexpected(error: unknown, root: string): InstallError {
  if (error instanceof UnsafePathError) {
    return new InstallError('target-unsafe', `${error.path} ${error.reason.split(';')[0]}`, `${error.message}. The installer acts as root on the target and never follows a link or passes through a folder someone else could change there. Fix ${error.path}, or install onto an empty partition.`);
  }
  const code = (error as NodeJS.ErrnoException)?.code;
  const message = errorMessage(error);
  if (code === 'ENOSPC') return new InstallError('no-space', 'The target disk is full', `${message}\nFree space on ${root} or choose a larger partition, then start the install again.`);
  if (code === 'EROFS') return new InstallError('read-only', 'The target is read-only', `${message}\nMount the target partitions read-write under ${root}.`);
  if (code === 'EACCES' || code === 'EPERM') return new InstallError('permission-denied', 'Permission denied', `${message}\nThe installer daemon must run as root.`);
  return new InstallError('internal-error', 'The installer hit an unexpected error', `${message}\nThe full log has the details; please report it with the log attached.`);
}

// The result event, for every way an install ends (the runner's too, when the job itself faults).
export function resultEvent(
  installId: string,
  end: {
    state: ResultEvent['state'];
    error: (ErrorInfo & { field?: string }) | null;
    durationMs: number;
    logTail?: string[];
    logPath?: string | null;
    targetLogPath?: string | null;
    toplevel?: string | null;
    choices?: AppliedChoice[];
    then?: ResultEvent['then'];
  },
): ResultEvent {
  const { error } = end;
  return {
    v: PROTOCOL_VERSION,
    installId,
    ok: end.state === 'succeeded',
    state: end.state,
    ...(error && { error: { code: error.code, title: error.title, description: truncate(error.description, MAX_DESCRIPTION_CHARS), ...(error.field !== undefined && { field: error.field }), logTail: end.logTail ?? [] } }),
    logPath: end.logPath ?? null,
    targetLogPath: end.targetLogPath ?? null,
    toplevel: end.toplevel ?? null,
    ...(end.choices && { choices: end.choices }),
    durationMs: end.durationMs,
    ...(end.then && { then: end.then }),
  };
}

export async function runInstall(params: InstallParams): Promise<ResultEvent> {
  const { installId, request, settings, signal, validationCache } = params;
  const relay = batchLogEvents(installId, params.sink);
  const started = Date.now();
  const answersPath = request.answers ?? null;
  // An unattended install's target is mounted later, at a folder of its own (made below).
  let root = request.root ?? '(the disk named in the answer file)';
  const phases = answersPath ? PHASES : ATTENDED_PHASES;
  // The request's own checks come first, with no log file: a stream of bad
  // requests must not fill the live system's /var/log (in RAM on an ISO).
  let source: string;
  try {
    source = resolveSource(params.source);
    if (!answersPath) await checkTargetRoot(root, { allowUnmounted: request.allowUnmounted === true });
  } catch (error) {
    if (!(error instanceof InstallError)) throw error;
    return resultEvent(installId, { state: 'failed', error, durationMs: Date.now() - started });
  }
  const logPath = join(settings.logDir, `install-${installId}.log`);
  let installLog: InstallLog;
  try {
    installLog = openInstallLog(settings.logLevel, logPath, installId);
  } catch (error) {
    const message = errorMessage(error);
    const cause = new InstallError('log-unwritable', 'The install log cannot be written', `${logPath}: ${message}\nEvery install keeps a full log; make ${settings.logDir} a writable folder (the daemon's --log-dir), then start the install again. Nothing was written to ${root}.`);
    return resultEvent(installId, { state: 'failed', error: cause, durationMs: Date.now() - started });
  }
  const { logger, output, flush, close } = installLog;
  const tail: string[] = [];
  const recent = new RecentLines(RECENT_PER_SOURCE);
  let phase: Phase = 'hardware';
  let shown = 0;
  let lastProgressAt = 0;
  let detail = '';
  let counts: CopyCounts = { bytesDone: 0, bytesTotal: 0, pathsDone: 0, pathsTotal: 0 };
  // For the journal's one line per step: how long it took and how much its commands printed.
  let step: { phase: Phase; started: number; outputLines: number } | null = null;
  const endStep = (outcome: string) => {
    if (!step) return;
    const durationMs = Date.now() - step.started;
    logger.info({ step: step.phase, outcome, durationMs, outputLines: step.outputLines }, `step ${step.phase} ${outcome} after ${(durationMs / 1000).toFixed(1)} s; its commands printed ${step.outputLines} lines (in the install log)`);
    step = null;
  };
  const relayLine = (source: string, line: string) => {
    relay.line(source, truncate(line, MAX_LOG_LINE_CHARS));
    // Kept lines are copies (clip): a slice would keep a whole 1 MiB line alive.
    tail.push(clip(`[${source}] ${line}`, TAIL_LINE_CHARS + source.length + 3));
    if (tail.length > LOG_TAIL_LINES) tail.shift();
    recent.add(source, clip(line, TAIL_LINE_CHARS));
  };

  const ctx: JobContext = {
    installId,
    root,
    signal,
    settings,
    log(source, line, level = 'info') {
      logger[level]({ source }, line);
      relayLine(source, line);
    },
    output(source, line, level = 'info') {
      output[level]({ source }, line);
      if (step) step.outputLines++;
      relayLine(source, line);
    },
    recentLines: (source, count) => recent.last(source, count),
    phase(next) {
      endStep('done');
      phase = next;
      step = { phase: next, started: Date.now(), outputLines: 0 };
      detail = '';
      logger.info({ phase: next }, PHASE_TITLES[next]);
      relay.phase({ v: PROTOCOL_VERSION, installId, phase: next, title: PHASE_TITLES[next] });
      this.progress(0);
    },
    progress(phaseFraction, copyCounts, next) {
      if (copyCounts) counts = copyCounts;
      const newDetail = next !== undefined && next !== detail;
      if (newDetail) detail = next;
      shown = Math.max(shown, overallFraction(phase, phaseFraction, phases));
      const now = Date.now();
      // The copy sampler and a burst of small paths would flood the socket; the bar needs ~20 updates a second.
      if (now - lastProgressAt < PROGRESS_INTERVAL_MS && phaseFraction < 1 && phaseFraction > 0 && !newDetail) return;
      lastProgressAt = now;
      lastProgress = { v: PROTOCOL_VERSION, installId, phase, fraction: shown, ...counts, ...(detail && { detail }) };
      relay.progress(lastProgress);
    },
  };

  let targetTouched = false;
  let targetLogPath: string | null = null;
  let toplevel: string | null = null;
  let failure: InstallError | null = null;
  let interrupted = false;
  let prepared: PreparedConfig | null = null;
  let choices: AppliedChoice[] | undefined;
  let plan: UnattendedPlan | null = null;
  let session: DiskSession | null = null;
  let checked: CheckedDisk | null = null;
  let formatted: Formatted | null = null;

  logger.info({ request }, `install ${installId} started`);
  if (request.choices) ctx.log('daemon', `chosen in the installer: ${Object.entries(request.choices).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  // A quiet step (NixOS evaluation prints nothing for a minute) must not look like a dead daemon.
  let lastProgress: ProgressEvent | null = null;
  const heartbeat = setInterval(() => lastProgress && relay.progress(lastProgress), HEARTBEAT_MS);
  try {
    if (answersPath) {
      // The answer file and its disk, as a mounted target's own checks come first; then a private mount point for it.
      ctx.log('daemon', `unattended install from ${source}, answers in ${answersPath}`);
      plan = await readPlan(ctx, answersPath, source, settings);
      // A disko layout mounts at the configuration's own rootMountPoint, known (and checked) after validate.
      if (plan.answers.layout !== null) {
        session = await DiskSession.create();
        root = ctx.root = session.mountPoint;
      }
    } else {
      ctx.log('daemon', `installing from ${source} to ${root}`);
      if (request.allowUnmounted) ctx.log('daemon', `${root} may be an unmounted folder (allowUnmounted)`, 'warn');
    }

    // The target's hardware configuration and the installer's choices, in a private copy of the folder.
    // Unattended: before the disk holds a file system, the ones the layout will make stand in for the probe's
    // (with disko, none: its module declares the file systems).
    ctx.phase('hardware');
    prepared = plan
      ? await prepareConfig(ctx, source, { choices: unattendedChoices(plan) }, { plannedFileSystems: plan.answers.layout ? plannedFileSystemsNix(plan.answers.layout) : DISKO_FILE_SYSTEMS })
      : await prepareConfig(ctx, source, request);
    const profiles = await manifestProfiles(settings.manifest);
    ctx.log('hardware', profileLine(matchProfile(prepared.generated, profiles), Object.keys(profiles).length));
    ctx.progress(1);

    // Every mismatch is known before anything is written to the target (or, unattended, to the disk).
    ctx.phase('validate');
    const firmware = plan ? layoutFirmware(plan.answers.layout) : targetFirmware(request.choices);
    ctx.log('daemon', plan ? `${plan.answers.layout ? `the layout ${plan.answers.layout.type}` : 'a disko layout (as this machine booted)'} starts the machine with ${firmware === 'efi' ? 'UEFI' : 'a BIOS'}` : `this machine starts with ${firmware === 'efi' ? 'UEFI' : 'a BIOS'}`);
    const user = plan ? plan.answers.user : request.user;
    const desktop = plan ? plan.answers.desktop : request.desktop;
    // A flake's configuration may be chosen by host name, Calamares' or the answer file's.
    const hostname = plan ? plan.answers.choices.hostname : request.choices?.hostname;
    const validation = await validateConfig(
      ctx,
      {
        source,
        firmware,
        prepared,
        ...(user !== undefined && { user }),
        ...(desktop !== undefined && { desktop }),
        ...(request.flakeConfig !== undefined && { flakeConfig: request.flakeConfig }),
        ...(hostname !== undefined && { hostname }),
      },
      settings,
      validationCache,
    );
    if (validation.choices) {
      choices = validation.choices;
      for (const choice of choices) ctx.log('daemon', `installer choice: ${choiceLine(choice)}`);
    }
    if (signal.aborted) throw new InstallCancelled();
    if (!validation.ok) throw validationError(validation);
    if (plan) checked = await checkDiskFits(ctx, plan, source, settings, prepared, validation.facts);
    else {
      // The ISO's manifest knows the closure's size: a fresh target too small for it is refused now, not when full.
      // Also when this machine's hardware made the system differ a little from the shipped one: still the best estimate.
      const closureBytes = validation.facts?.closureBytes ?? (settings.manifest ? (await manifestFacts(settings.manifest, source).catch(() => null))?.closureBytes ?? null : null);
      if (closureBytes !== null && !existsSync(join(root, TARGET_NIX_DB))) await checkFreeSpace(root, closureBytes, 'the ISO manifest\'s closureBytes');
    }
    ctx.progress(1);

    if (plan?.disko && checked) {
      session = await DiskSession.forDisko({ rootMountPoint: plan.disko.facts.rootMountPoint, diskName: checked.disk.name });
      root = ctx.root = session.mountPoint;
      formatted = await prepareDiskoDisk(ctx, plan.disko, checked, session);
      await checkTargetRoot(root);
      // disko's module declares the file systems; the probe gives the rest.
      await probeMountedFileSystems(ctx, prepared, [], true);
    } else if (plan && session && checked) {
      formatted = await prepareDisk(ctx, plan.answers, checked, session);
      await checkTargetRoot(root);
      await probeMountedFileSystems(ctx, prepared, formatted.partitions);
    }

    ctx.phase('stage');
    targetTouched = true;
    const staged = await stageConfig(ctx, prepared.folder, source);
    if (plan) await protectStagedSecrets(ctx, source, staged.etcNixos, [plan.answers.file, ...(plan.answers.layout?.encrypt ? [plan.answers.layout.encrypt.passphraseFile] : [])]);
    ctx.progress(1);

    ctx.phase('build');
    // The prepared copy is what was checked and staged (for a flake, every input it locks is in the store);
    // the eval user can read it, where the staged copy keeps files only root may read.
    const flakeConfiguration = validation.facts?.flake?.configuration;
    const flakeInputs = validation.facts?.flake?.inputs ?? [];
    toplevel = await buildSystem(ctx, prepared.folder, source, flakeConfiguration);
    ctx.progress(1);

    ctx.phase('copy');
    await copyClosure(ctx, toplevel, flakeInputs.map((input) => input.storePath!));
    if (flakeConfiguration !== undefined) await keepFlakeInputs(ctx, flakeInputs);

    ctx.phase('install');
    // What nixos-install enters, checked again as it is about to (the copy made the store's folders).
    await checkTargetFolders(root);
    await runNixosInstall(ctx, toplevel);
    if (plan?.answers.user && plan.answers.passwordHash) await setPassword(ctx, plan.answers.user, plan.answers.passwordHash);
    ctx.progress(1);

    ctx.phase('report');
  } catch (error) {
    if (!(error instanceof InstallCancelled || signal.aborted)) {
      failure = error instanceof InstallError ? error : describeUnexpected(error, root);
      await new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS));
    }
    interrupted = signal.aborted;
    if (interrupted) failure = null;
  }
  await prepared?.remove();

  const stopped = interrupted ? stopReason(signal) : null;
  let state: ResultEvent['state'] = stopped === 'cancel' ? 'cancelled' : stopped || failure ? 'failed' : 'succeeded';
  const again = plan
    ? formatted
      ? `The disk ${plan.answers.disk} may hold a partial system; start the install again to redo it (the answer file needs "wipe": true now).`
      : `The disk ${plan.answers.disk} ${DISK_PHASES.includes(phase as Phase) ? 'may be partly partitioned; start the install again with "wipe": true' : 'was not touched'}.`
    : 'The target may hold a partial system; start the install again to finish it (paths already copied are reused).';
  let error: (ErrorInfo & { field?: string }) | null =
    stopped === 'cancel'
      ? {
          code: 'cancelled',
          title: 'The install was cancelled',
          description: `Cancelled during "${PHASE_TITLES[phase]}". ${again}`,
        }
      : stopped === 'service-stopped'
        ? {
            code: 'service-stopped',
            title: 'The installer service was stopped',
            description: `The installer service stopped during "${PHASE_TITLES[phase]}" (systemctl stop nixos-offline-installer, a shutdown, or SIGTERM to the daemon), so the install did not finish. The target may hold a partial system: start the service (systemctl start nixos-offline-installer), then the install again; paths already copied are reused.`,
          }
        : failure;
  endStep(state === 'succeeded' ? 'done' : state);
  // The tail travels with the result below the description: it is what led up to the error, not the error again.
  const logTail = [...tail];
  if (error) ctx.log('daemon', `${error.title}: ${error.description}`, stopped === 'cancel' ? 'warn' : 'error');
  else ctx.log('daemon', `installation finished: ${toplevel}`);

  if (targetTouched) {
    try {
      flush();
      const written = await writeTargetLog(root, logPath, installId);
      targetLogPath = written.path;
      if (written.kept) logger.info({ kept: written.kept }, `kept the earlier install's log on the target as ${written.kept}`);
    } catch (copyError) {
      logger.warn({ err: copyError }, 'could not write the install log to the target');
    }
  }
  if (session) {
    // Everything mounted is unmounted, also after a failure or a cancel (whose signal is spent: the release has its own).
    const problems = await releaseDisk({ ...ctx, signal: new AbortController().signal }, session);
    if (problems.length > 0 && state === 'succeeded') {
      state = 'failed';
      error = new InstallError('disk-release-failed', 'The installed disk could not be released cleanly', `The system is installed, but: ${problems.join('; ')}.\nDo not reboot or power off until it is unmounted (findmnt ${session.mountPoint}); the log says which process held it.`);
      ctx.log('daemon', `${error.title}: ${error.description}`, 'error');
    }
    // After the unmount, the log is where the installed system will see it.
    if (targetLogPath) targetLogPath = `/${TARGET_LOG_DIR}/install.log`;
  }
  const then = plan && state === 'succeeded' ? { action: plan.answers.then, delaySeconds: plan.answers.then === 'stay' ? 0 : THEN_DELAY_SECONDS } : undefined;
  if (then && then.action !== 'stay') ctx.log('daemon', `${then.action} in ${then.delaySeconds} s, as the answer file says ("then"); nixos-offline-installer cancel stops it`);
  clearInterval(heartbeat);
  if (state === 'succeeded') ctx.progress(1);
  logger.info({ state, toplevel, targetLogPath }, `install ${installId} ${state}`);
  close();
  relay.flush();

  return resultEvent(installId, { state, error, logTail, logPath, targetLogPath, toplevel, choices, durationMs: Date.now() - started, ...(then && { then }) });
}

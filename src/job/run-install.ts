// One install, start to finish: the configuration folder chosen when it was
// requested, the target checked, then hardware, validate, stage, build, copy,
// install and report. Everything goes to this install's own log file and to
// the clients; the journal gets the installer's own lines (phases, checks, a
// summary per step, the result), not the commands' output. The result says
// what happened and, on failure, what to do.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UnsafePathError } from '../fs/beneath.js';
import { copyClosure } from '../copy/copy-closure.js';
import { keepFlakeInputs } from '../copy/flake-input-roots.js';
import { buildSystem } from '../build/build-system.js';
import { runNixosInstall } from '../install/run-nixos-install.js';
import { openInstallLog, type InstallLog, type LogLevel } from '../log/logger.js';
import {
  HEARTBEAT_MS,
  LOG_TAIL_LINES,
  MAX_LOG_LINE_CHARS,
  PHASES,
  PHASE_TITLES,
  PROTOCOL_VERSION,
  type AppliedChoice,
  type ErrorInfo,
  type InstallRequest,
  type LogEvent,
  type Phase,
  type PhaseEvent,
  type ProgressEvent,
  type ResultEvent,
} from '../protocol/messages.js';
import { writeTargetLog } from '../report/write-target-log.js';
import { resolveSource, type SourceChoice } from '../resolve/config-sources.js';
import { prepareConfig, type PreparedConfig } from '../prepare/prepare-config.js';
import { targetFirmware } from '../prepare/firmware.js';
import { manifestProfiles, matchProfile, profileLine } from '../prepare/hardware-profiles.js';
import { choiceLine } from '../prepare/installer-choices.js';
import { stageConfig } from '../stage/stage-config.js';
import { checkTargetRoot } from '../validate/check-target-root.js';
import { checkFreeSpace } from '../validate/free-space.js';
import { TARGET_NIX_DB } from '../copy/closure.js';
import { manifestFacts } from '../validate/config-facts.js';
import { validateConfig, validationError, type ValidationCache } from '../validate/validate-config.js';
import type { CopyCounts, JobContext, JobSettings } from '../step/context.js';
import { InstallCancelled, InstallError, errorMessage, stopReason } from '../step/install-error.js';
import { batchLogEvents } from './batch-log-events.js';
import { RecentLines } from '../step/recent-lines.js';
import { clip } from '../step/clip.js';

// Share of the whole bar each phase takes. The copy dominates a real install
// (several GB from the squashfs); the build is mostly evaluation when the ISO
// already holds the system.
export const PHASE_WEIGHTS: Record<Phase, number> = { hardware: 0.01, validate: 0.04, stage: 0.02, build: 0.1, copy: 0.78, install: 0.04, report: 0.01 };

const PROGRESS_INTERVAL_MS = 50;
const TAIL_LINE_CHARS = 500;
const RECENT_PER_SOURCE = 50;
const MAX_DESCRIPTION_CHARS = 8000;
// A failure this soon before the daemon's own stop is the stop: with KillMode=control-group
// systemd signals the commands together with the daemon, and either may be seen first.
const STOP_GRACE_MS = 200;

export interface InstallSink {
  phase(event: PhaseEvent): void;
  progress(event: ProgressEvent): void;
  log(event: LogEvent): void;
}

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

export function overallFraction(phase: Phase, phaseFraction: number): number {
  let before = 0;
  for (const p of PHASES) {
    if (p === phase) break;
    before += PHASE_WEIGHTS[p];
  }
  return Math.min(1, before + PHASE_WEIGHTS[phase] * Math.min(Math.max(phaseFraction, 0), 1));
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
  end: { state: ResultEvent['state']; error: ErrorInfo | null; durationMs: number; logTail?: string[]; logPath?: string | null; targetLogPath?: string | null; toplevel?: string | null; choices?: AppliedChoice[] },
): ResultEvent {
  const { error } = end;
  return {
    v: PROTOCOL_VERSION,
    installId,
    ok: end.state === 'succeeded',
    state: end.state,
    ...(error && { error: { code: error.code, title: error.title, description: truncate(error.description, MAX_DESCRIPTION_CHARS), logTail: end.logTail ?? [] } }),
    logPath: end.logPath ?? null,
    targetLogPath: end.targetLogPath ?? null,
    toplevel: end.toplevel ?? null,
    ...(end.choices && { choices: end.choices }),
    durationMs: end.durationMs,
  };
}

export async function runInstall(params: InstallParams): Promise<ResultEvent> {
  const { installId, request, settings, signal, validationCache } = params;
  const relay = batchLogEvents(installId, params.sink);
  const started = Date.now();
  const root = request.root;
  // The request's own checks come first, with no log file: a stream of bad
  // requests must not fill the live system's /var/log (in RAM on an ISO).
  let source: string;
  try {
    source = resolveSource(params.source);
    await checkTargetRoot(root, { allowUnmounted: request.allowUnmounted === true });
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
      shown = Math.max(shown, overallFraction(phase, phaseFraction));
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

  logger.info({ request }, `install ${installId} started`);
  if (request.choices) ctx.log('daemon', `chosen in the installer: ${Object.entries(request.choices).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  // A quiet step (NixOS evaluation prints nothing for a minute) must not look like a dead daemon.
  let lastProgress: ProgressEvent | null = null;
  const heartbeat = setInterval(() => lastProgress && relay.progress(lastProgress), HEARTBEAT_MS);
  try {
    ctx.log('daemon', `installing from ${source} to ${root}`);
    if (request.allowUnmounted) ctx.log('daemon', `${root} may be an unmounted folder (allowUnmounted)`, 'warn');

    // The target's hardware configuration and the installer's choices, in a private copy of the folder.
    ctx.phase('hardware');
    prepared = await prepareConfig(ctx, source, request);
    const profiles = await manifestProfiles(settings.manifest);
    ctx.log('hardware', profileLine(matchProfile(prepared.generated, profiles), Object.keys(profiles).length));
    ctx.progress(1);

    // Every mismatch is known before anything is written to the target.
    ctx.phase('validate');
    const firmware = targetFirmware(request.choices);
    ctx.log('daemon', `this machine starts with ${firmware === 'efi' ? 'UEFI' : 'a BIOS'}`);
    const validation = await validateConfig(
      ctx,
      {
        source,
        firmware,
        prepared,
        ...(request.user !== undefined && { user: request.user }),
        ...(request.desktop !== undefined && { desktop: request.desktop }),
        ...(request.flakeConfig !== undefined && { flakeConfig: request.flakeConfig }),
        ...(request.choices?.hostname !== undefined && { hostname: request.choices.hostname }),
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
    // The ISO's manifest knows the closure's size: a fresh target too small for it is refused now, not when full.
    // Also when this machine's hardware made the system differ a little from the shipped one: still the best estimate.
    const closureBytes = validation.facts?.closureBytes ?? (settings.manifest ? (await manifestFacts(settings.manifest, source).catch(() => null))?.closureBytes ?? null : null);
    if (closureBytes !== null && !existsSync(join(root, TARGET_NIX_DB))) await checkFreeSpace(root, closureBytes, 'the ISO manifest\'s closureBytes');
    ctx.progress(1);

    ctx.phase('stage');
    targetTouched = true;
    const staged = await stageConfig(ctx, prepared.folder, source);
    ctx.progress(1);

    ctx.phase('build');
    // The staged folder is the checked one: for a flake, every input it locks is in the store.
    const flakeConfiguration = validation.facts?.flake?.configuration;
    const flakeInputs = validation.facts?.flake?.inputs ?? [];
    toplevel = await buildSystem(ctx, staged.etcNixos, source, flakeConfiguration);
    ctx.progress(1);

    ctx.phase('copy');
    await copyClosure(ctx, toplevel, flakeInputs.map((input) => input.storePath!));
    if (flakeConfiguration !== undefined) await keepFlakeInputs(ctx, flakeInputs);

    ctx.phase('install');
    await runNixosInstall(ctx, toplevel);
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
  const state: ResultEvent['state'] = stopped === 'cancel' ? 'cancelled' : stopped || failure ? 'failed' : 'succeeded';
  const error: ErrorInfo | null =
    stopped === 'cancel'
      ? {
          code: 'cancelled',
          title: 'The install was cancelled',
          description: `Cancelled during "${PHASE_TITLES[phase]}". The target may hold a partial system; start the install again to finish it (paths already copied are reused).`,
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
  clearInterval(heartbeat);
  if (state === 'succeeded') ctx.progress(1);
  logger.info({ state, toplevel, targetLogPath }, `install ${installId} ${state}`);
  close();
  relay.flush();

  return resultEvent(installId, { state, error, logTail, logPath, targetLogPath, toplevel, choices, durationMs: Date.now() - started });
}

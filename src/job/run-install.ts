// One install, start to finish: resolve the configuration, check the target,
// then stage, hardware, build, copy, install and report. Every step's output
// goes to the journal, to this install's own log file and to the clients; the
// result says what happened and, on failure, what to do.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UnsafePathError } from '../fs/beneath.js';
import { copyClosure } from '../copy/copy-closure.js';
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
  type ErrorInfo,
  type InstallRequest,
  type LogEvent,
  type Phase,
  type PhaseEvent,
  type ProgressEvent,
  type ResultEvent,
} from '../protocol/messages.js';
import { writeTargetLog } from '../report/write-target-log.js';
import { resolveSource } from '../resolve/config-sources.js';
import { generateHardwareConfig } from '../stage/generate-hardware-config.js';
import { stageConfig } from '../stage/stage-config.js';
import { checkTargetRoot } from '../validate/check-target-root.js';
import { checkFreeSpace } from '../validate/free-space.js';
import { TARGET_NIX_DB } from '../copy/closure.js';
import { validateConfig, validationError, type ValidationCache } from '../validate/validate-config.js';
import type { CopyCounts, JobContext, JobSettings } from '../step/context.js';
import { InstallCancelled, InstallError, errorMessage } from '../step/install-error.js';
import { batchLogEvents } from './batch-log-events.js';
import { RecentLines } from '../step/recent-lines.js';
import { clip } from '../step/clip.js';

// Share of the whole bar each phase takes. The copy dominates a real install
// (several GB from the squashfs); the build is mostly evaluation when the ISO
// already holds the system.
export const PHASE_WEIGHTS: Record<Phase, number> = { validate: 0.04, stage: 0.02, hardware: 0.01, build: 0.1, copy: 0.78, install: 0.04, report: 0.01 };

const PROGRESS_INTERVAL_MS = 50;
const TAIL_LINE_CHARS = 500;
const RECENT_PER_SOURCE = 50;
const MAX_DESCRIPTION_CHARS = 8000;

export interface InstallSink {
  phase(event: PhaseEvent): void;
  progress(event: ProgressEvent): void;
  log(event: LogEvent): void;
}

export interface InstallParams {
  installId: string;
  request: InstallRequest;
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
  end: { state: ResultEvent['state']; error: ErrorInfo | null; durationMs: number; logTail?: string[]; logPath?: string | null; targetLogPath?: string | null; toplevel?: string | null },
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
    source = resolveSource(settings.configDirs, settings.socketGid);
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
  const { logger, flush, close } = installLog;
  const tail: string[] = [];
  const recent = new RecentLines(RECENT_PER_SOURCE);
  let phase: Phase = 'validate';
  let shown = 0;
  let lastProgressAt = 0;
  let detail = '';
  let counts: CopyCounts = { bytesDone: 0, bytesTotal: 0, pathsDone: 0, pathsTotal: 0 };

  const ctx: JobContext = {
    installId,
    root,
    signal,
    settings,
    log(source, line, level = 'info') {
      logger[level]({ source }, line);
      relay.line(source, truncate(line, MAX_LOG_LINE_CHARS));
      // Kept lines are copies (clip): a slice would keep a whole 1 MiB line alive.
      tail.push(clip(`[${source}] ${line}`, TAIL_LINE_CHARS + source.length + 3));
      if (tail.length > LOG_TAIL_LINES) tail.shift();
      recent.add(source, clip(line, TAIL_LINE_CHARS));
    },
    recentLines: (source, count) => recent.last(source, count),
    phase(next) {
      phase = next;
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
  let cancelled = false;

  logger.info({ request }, `install ${installId} started`);
  if (request.choices) ctx.log('daemon', `chosen in the installer: ${Object.entries(request.choices).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  // A quiet step (NixOS evaluation prints nothing for a minute) must not look like a dead daemon.
  let lastProgress: ProgressEvent | null = null;
  const heartbeat = setInterval(() => lastProgress && relay.progress(lastProgress), HEARTBEAT_MS);
  try {
    ctx.log('daemon', `installing from ${source} to ${root}`);
    if (request.allowUnmounted) ctx.log('daemon', `${root} may be an unmounted folder (allowUnmounted)`, 'warn');

    // Every mismatch is known before anything is written to the target.
    ctx.phase('validate');
    const validation = await validateConfig(ctx, { source, ...(request.user !== undefined && { user: request.user }), ...(request.desktop !== undefined && { desktop: request.desktop }) }, settings, validationCache);
    if (signal.aborted) throw new InstallCancelled();
    if (!validation.ok) throw validationError(validation);
    // The ISO's manifest knows the closure's size: a fresh target too small for it is refused now, not when full.
    const closureBytes = validation.facts?.closureBytes ?? null;
    if (closureBytes !== null && !existsSync(join(root, TARGET_NIX_DB))) await checkFreeSpace(root, closureBytes, 'the ISO manifest\'s closureBytes');
    ctx.progress(1);

    ctx.phase('stage');
    targetTouched = true;
    const staged = await stageConfig(ctx, source);
    ctx.progress(1);

    ctx.phase('hardware');
    await generateHardwareConfig(ctx, staged.etcNixos, request.partitions);
    ctx.progress(1);

    ctx.phase('build');
    toplevel = await buildSystem(ctx, staged.etcNixos, source);
    ctx.progress(1);

    ctx.phase('copy');
    await copyClosure(ctx, toplevel);

    ctx.phase('install');
    await runNixosInstall(ctx, toplevel);
    ctx.progress(1);

    ctx.phase('report');
  } catch (error) {
    if (error instanceof InstallCancelled || signal.aborted) cancelled = true;
    else failure = error instanceof InstallError ? error : describeUnexpected(error, root);
  }

  const state: ResultEvent['state'] = cancelled ? 'cancelled' : failure ? 'failed' : 'succeeded';
  const error: ErrorInfo | null = cancelled
    ? {
        code: 'cancelled',
        title: 'The install was cancelled',
        description: `Cancelled during "${PHASE_TITLES[phase]}". The target may hold a partial system; start the install again to finish it (paths already copied are reused).`,
      }
    : failure;
  if (error) ctx.log('daemon', `${error.title}: ${error.description}`, cancelled ? 'warn' : 'error');
  else ctx.log('daemon', `installation finished: ${toplevel}`);

  if (targetTouched) {
    try {
      flush();
      targetLogPath = await writeTargetLog(root, logPath, installId);
    } catch (copyError) {
      logger.warn({ err: copyError }, 'could not write the install log to the target');
    }
  }
  clearInterval(heartbeat);
  if (state === 'succeeded') ctx.progress(1);
  logger.info({ state, toplevel, targetLogPath }, `install ${installId} ${state}`);
  close();
  relay.flush();

  return resultEvent(installId, { state, error, logTail: [...tail], logPath, targetLogPath, toplevel, durationMs: Date.now() - started });
}

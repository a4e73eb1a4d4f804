// One install, start to finish: the configuration folder chosen when it was
// requested, the request's own checks, then the pipeline's stages in order
// (attended-stages.ts, or unattended-stages.ts for an answer file), then what
// each stage must release. Everything goes to this install's own log file and
// to the clients; the journal gets the installer's own lines (phases, checks, a
// summary per phase, the result), not the commands' output. The result says
// what happened and, on failure, what to do.
import { join } from 'node:path';
import { THEN_DELAY_SECONDS } from '../install/power-action.js';
import { openInstallLog, TARGET_TOUCHED_FIELD, type InstallLog, type LogLevel } from '../log/logger.js';
import type { ErrorInfo, InstallRequest, ResultEvent } from '../protocol/messages.js';
import type { Phase } from '../protocol/vocabularies.js';
import { grubTargetText } from '../protocol/grub-target.js';
import { resolveSource, type SourceChoice } from '../resolve/config-sources.js';
import type { JobSettings } from '../common/context.js';
import { InstallCancelled, InstallError, errorMessage, stopReason } from '../common/install-error.js';
import type { ValidationCache } from '../validate/validate-config.js';
import { ATTENDED } from './attended-stages.js';
import { batchLogEvents } from './batch-log-events.js';
import { installContext } from './install-context.js';
import { describeUnexpected, resultEvent, stopError } from './install-result.js';
import type { InstallSink } from './install-sink.js';
import type { InstallRun, Pipeline } from './stage.js';
import { UNATTENDED } from './unattended-stages.js';
import { FLEET_TARGET } from './fleet-target-stages.js';

// A failure this soon before the daemon's own stop is the stop: with KillMode=control-group
// systemd signals the commands together with the daemon, and either may be seen first.
const STOP_GRACE_MS = 200;
// Phases that only read: an install that ended in one wrote nothing to a target or disk.
const BEFORE_ANY_WRITE: readonly Phase[] = ['hardware', 'validate'];

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
  // Another install kind's stages (a fleet target's check on the seed: fleet-check-stages.ts).
  pipeline?: Pipeline;
}

export async function runInstall(params: InstallParams): Promise<ResultEvent> {
  const { installId, request, settings, signal } = params;
  const relay = batchLogEvents(installId, params.sink);
  const started = Date.now();
  const pipeline = params.pipeline ?? (request.fleet ? FLEET_TARGET : request.answers ? UNATTENDED : ATTENDED);
  // An unattended install's target is mounted later, at a folder of its own (made by its stages).
  const root = request.root ?? (request.fleet ? "(the disk named in the seed's answer file)" : '(the disk named in the answer file)');
  // The request's own checks come first, with no log file: a stream of bad
  // requests must not fill the live system's /var/log (in RAM on an ISO).
  let source: string;
  try {
    source = resolveSource(params.source);
    await pipeline.checkRequest(request, root);
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
  const { logger, close } = installLog;
  const job = installContext(installId, root, signal, settings, installLog, relay, pipeline.stages);
  const { ctx } = job;
  const install: InstallRun = {
    ctx,
    request,
    source,
    settings,
    validationCache: params.validationCache,
    plan: null,
    session: null,
    prepared: null,
    validation: null,
    choices: undefined,
    checked: null,
    partitioned: null,
    formatting: null,
    formatted: null,
    targetTouched: false,
    log: installLog,
    warnings: job.warnings,
    logPath,
    targetLogPath: null,
    toplevel: null,
    fleet: null,
  };

  logger.info({ request }, `install ${installId} started`);
  if (request.choices) ctx.log('daemon', `chosen in the installer: ${Object.entries(request.choices).map(([k, v]) => `${k}=${v}`).join(', ')}`);
  let failure: InstallError | null = null;
  let interrupted = false;
  try {
    await pipeline.start(install);
    for (const stage of pipeline.stages) {
      ctx.phase(stage.phase);
      await stage.run(install);
    }
  } catch (error) {
    if (!(error instanceof InstallCancelled || signal.aborted)) {
      failure = error instanceof InstallError ? error : describeUnexpected(error, ctx.root);
      await new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS));
    }
    interrupted = signal.aborted;
    if (interrupted) failure = null;
  }

  // A cancel that comes once the last stage is done is too late to count.
  const stopped = interrupted ? stopReason(signal) : null;
  let state: ResultEvent['state'] = stopped === 'cancel' ? 'cancelled' : stopped || failure ? 'failed' : 'succeeded';
  let error: (ErrorInfo & { field?: string }) | null = stopped ? stopError(stopped, job.phase(), pipeline.again(install, job.phase())) : failure;
  job.endPhase(state === 'succeeded' ? 'done' : state);
  // The tail travels with the result below the description: it is what led up to the error, not the error again.
  const logTail = job.logTail();
  if (error) ctx.log('daemon', `${error.title}: ${error.description}`, stopped === 'cancel' ? 'warn' : 'error');
  else ctx.log('daemon', `installation finished: ${install.toplevel}`);

  for (const stage of [...pipeline.stages].reverse()) {
    const released = await stage.release?.(install, state);
    if (released && state === 'succeeded') {
      state = 'failed';
      error = released;
      ctx.log('daemon', `${released.title}: ${released.description}`, 'error');
    }
  }
  await pipeline.ended?.(install, state, error);
  const { plan, targetLogPath, toplevel, choices } = install;
  const then = plan && state === 'succeeded' ? { action: plan.answers.then, delaySeconds: plan.answers.then === 'stay' ? 0 : THEN_DELAY_SECONDS } : undefined;
  if (then && then.action !== 'stay') ctx.log('daemon', `${then.action} in ${then.delaySeconds} s, as the answer file says ("then"); nixos-offline-installer cancel stops it`);
  job.stopHeartbeat();
  if (state === 'succeeded') ctx.progress(1);
  // Read when logs are pruned: a log of an install that wrote nothing goes first (log/logger.ts).
  const touched = !pipeline.writesNothing && (install.targetTouched || !BEFORE_ANY_WRITE.includes(job.phase()));
  logger.info({ state, toplevel, targetLogPath, [TARGET_TOUCHED_FIELD]: touched }, `install ${installId} ${state}`);
  close();
  relay.flush();

  // Where GRUB went, in an attended install (an unattended one refuses any disk but the answer file's).
  const chosenGrub = !plan && state === 'succeeded' ? install.validation?.grub : undefined;
  const grub = chosenGrub && { ...chosenGrub, text: grubTargetText(chosenGrub, 'went') };
  return resultEvent(installId, { state, error, logTail, logPath, targetLogPath, toplevel, choices, grub, durationMs: Date.now() - started, ...(then && { then }) });
}

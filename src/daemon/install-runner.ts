// One install at a time: starts it, cancels it, remembers how the last one
// ended, and answers what is going on for status.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import type { InstallRequest, InstallStatus, ResultEvent } from '../protocol/messages.js';
import type { InstallSink } from '../job/install-sink.js';
import { resultEvent } from '../job/install-result.js';
import { runInstall } from '../job/run-install.js';
import { runPowerAction } from '../install/power-action.js';
import { chooseSource, passedOver } from '../resolve/config-sources.js';
import { errorMessage, type StopReason } from '../common/install-error.js';
import type { DaemonOptions } from './options.js';
import type { ValidationCache } from '../validate/validate-config.js';

export interface InstallEvents extends InstallSink {
  result(event: ResultEvent): void;
}

function newInstallId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  return `${stamp}-${randomBytes(3).toString('hex')}`;
}

export class InstallRunner {
  private controller: AbortController | null = null;
  // An unattended install's reboot or power-off, waiting for its delay; a cancel stops it.
  private powerTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private request: InstallRequest | null = null;
  private state: InstallStatus = { state: 'idle', installId: null, root: null, source: null, phase: null, progress: null, startedAt: null, finishedAt: null, result: null };

  constructor(
    private readonly options: DaemonOptions,
    private readonly logger: Logger,
    private readonly cache?: ValidationCache,
  ) {}

  get busy(): boolean {
    return this.running !== null;
  }

  status(): InstallStatus {
    return { ...this.state };
  }

  // The user and desktop of the install running now (the live checks use them), or null.
  choices(): { user?: string; desktop?: string; flakeConfig?: string } | null {
    if (!this.running || !this.request) return null;
    const { user, desktop, flakeConfig } = this.request;
    return { ...(user !== undefined && { user }), ...(desktop !== undefined && { desktop }), ...(flakeConfig !== undefined && { flakeConfig }) };
  }

  // Starts an install of the configuration folder in use now; says which that is (null: none is usable, the result says why).
  start(request: InstallRequest, events: InstallEvents): { installId: string; source: string | null } {
    if (this.running) throw new Error('an install is already running');
    this.stopPowerAction('a new install started');
    const installId = newInstallId();
    const controller = new AbortController();
    const started = Date.now();
    // A fleet target installs what its seed checked and built: the seed stands where the folder would.
    const source = request.fleet ? { active: request.fleet.url, candidates: [], problem: null } : chooseSource(this.options.configDirs, this.options.socketGid);
    this.controller = controller;
    this.request = request;
    this.state = { state: 'running', installId, root: request.root ?? null, source: source.active, phase: null, progress: null, startedAt: new Date().toISOString(), finishedAt: null, result: null };
    const sink: InstallSink = {
      phase: (event) => {
        this.state.phase = event.phase;
        events.phase(event);
      },
      progress: (event) => {
        this.state.progress = event;
        events.progress(event);
      },
      log: (event) => events.log(event),
    };
    // Started on the next tick, so the caller's reply reaches the client before the first event.
    this.running = Promise.resolve()
      .then(() => runInstall({ installId, request, source, settings: this.options, signal: controller.signal, sink, ...(this.cache && { validationCache: this.cache }) }))
      .then((result) => (passedOver(source).length > 0 ? { ...result, passedOver: passedOver(source) } : result))
      .then((result) => {
        // Refused by the request's own checks: no install log was made, so the journal says why.
        if (result.logPath === null) this.logger.warn({ installId, error: result.error }, 'install refused');
        this.state = { ...this.state, state: result.state, finishedAt: new Date().toISOString(), result };
        events.result(result);
        if (result.ok && result.then && result.then.action !== 'stay') this.schedulePowerAction(installId, result.then.action, result.then.delaySeconds);
      })
      .catch((error: unknown) => {
        // A fault of the job itself: the client still gets a result, never silence.
        this.logger.error({ err: error, installId }, 'install crashed');
        const description = `${errorMessage(error)}\nThe daemon's journal has the details (journalctl -u nixos-offline-installer); please report it.`;
        const result = { ...resultEvent(installId, { state: 'failed', error: { code: 'internal-error', title: 'The installer hit an unexpected error', description }, durationMs: Date.now() - started }), ...(passedOver(source).length > 0 && { passedOver: passedOver(source) }) };
        this.state = { ...this.state, state: 'failed', finishedAt: new Date().toISOString(), result };
        events.result(result);
      })
      .finally(() => {
        this.running = null;
        this.controller = null;
        this.request = null;
      });
    return { installId, source: source.active };
  }

  private schedulePowerAction(installId: string, action: 'reboot' | 'poweroff', delaySeconds: number): void {
    this.logger.warn({ installId, action }, `${action} in ${delaySeconds} s, as the answer file says`);
    this.powerTimer = setTimeout(() => {
      this.powerTimer = null;
      const log = (source: string, line: string) => this.logger.info({ installId, source }, line);
      const ctx = { signal: new AbortController().signal, log, output: log, recentLines: () => [] };
      runPowerAction(ctx, action).catch((error: unknown) => this.logger.error({ err: error, installId }, `the ${action} failed`));
    }, delaySeconds * 1000);
  }

  private stopPowerAction(why: string): boolean {
    if (!this.powerTimer) return false;
    clearTimeout(this.powerTimer);
    this.powerTimer = null;
    this.logger.warn(`the reboot or power-off after the install is cancelled: ${why}`);
    return true;
  }

  cancel(reason: StopReason = 'cancel'): boolean {
    if (reason === 'cancel' && this.stopPowerAction('cancel requested')) return true;
    if (!this.controller) return false;
    this.logger.warn({ installId: this.state.installId, reason }, reason === 'cancel' ? 'cancel requested' : 'the daemon is stopping; ending the install');
    this.controller.abort(reason);
    return true;
  }

  // The daemon is stopping: ends a running install (its child processes included), whose result says so, and waits for it.
  async stop(): Promise<void> {
    this.stopPowerAction('the daemon is stopping');
    this.cancel('service-stopped');
    await this.running;
  }
}

// Keeps a check of the active configuration current: re-run when the watched
// folders change (the watcher already folds bursts of writes into one notice),
// a change during a run queues one more run after it, and every finished run
// is told to status watchers. The last user and desktop asked about are reused.
import type { Logger } from '../log/logger.js';
import type { CommandContext, JobSettings } from '../step/context.js';
import type { ValidationResult, ValidationStatus } from '../protocol/messages.js';
import { validateConfig, type ValidationCache } from '../validate/validate-config.js';
import { RecentLines } from '../step/recent-lines.js';
import { clip } from '../step/clip.js';

const RECENT_LINES = 50;
// Lines kept for error descriptions are cut: a 1 MiB trace line must not stay in memory 50 times over.
const MAX_LINE_CHARS = 500;

export class LiveValidation {
  private controller: AbortController | null = null;
  private result: ValidationResult | null = null;
  private choices: { user?: string; desktop?: string } = {};
  // Callers waiting for the run in progress, and for the one queued after it.
  private waiting: ((result: ValidationResult | null) => void)[] = [];
  private waitingNext: ((result: ValidationResult | null) => void)[] = [];
  // A change or request came while a run was in progress: one more run follows it.
  private queued = false;

  constructor(
    private readonly settings: JobSettings,
    private readonly logger: Logger,
    private readonly activeSource: () => string | null,
    private readonly onResult: (result: ValidationResult) => void,
    private readonly cache: ValidationCache,
  ) {}

  status(): ValidationStatus {
    return { state: this.controller ? 'running' : this.result ? 'done' : 'idle', result: this.result };
  }

  // Resolves with the result of a run that starts after this call, or null if
  // the check itself crashed or the daemon stopped. A run in progress is never
  // ended for a newer one (a folder that never stops changing would otherwise
  // starve every caller): one more run is queued behind it instead.
  run(choices?: { user?: string; desktop?: string }): Promise<ValidationResult | null> {
    if (choices) this.choices = choices;
    return new Promise<ValidationResult | null>((resolve) => {
      if (this.controller) {
        this.waitingNext.push(resolve);
        this.queued = true;
        return;
      }
      this.waiting.push(resolve);
      this.start();
    });
  }

  private start(): void {
    const controller = new AbortController();
    this.controller = controller;
    const recent = new RecentLines(RECENT_LINES);
    const ctx: CommandContext = {
      signal: controller.signal,
      log: (source, line, level = 'info') => {
        this.logger[level === 'info' ? 'debug' : level]({ source, validation: true }, line);
        recent.add(source, clip(line, MAX_LINE_CHARS));
      },
      recentLines: (source, count) => recent.last(source, count),
    };
    void validateConfig(ctx, { source: this.activeSource(), ...this.choices }, this.settings, this.cache).then(
      (result) => {
        if (controller.signal.aborted) return;
        this.result = result;
        this.logger.info({ ok: result.ok, source: result.source, failed: result.checks.filter((c) => !c.ok).map((c) => c.name), durationMs: result.durationMs }, 'configuration checked');
        this.onResult(result);
        this.finish(result);
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        this.logger.error({ err: error }, 'configuration check crashed');
        this.finish(null);
      },
    );
  }

  private finish(result: ValidationResult | null): void {
    this.controller = null;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve(result);
    if (!this.queued) return;
    this.queued = false;
    this.waiting = this.waitingNext;
    this.waitingNext = [];
    this.start();
  }

  stop(): void {
    this.controller?.abort();
    this.controller = null;
    this.queued = false;
    const waiting = [...this.waiting, ...this.waitingNext];
    this.waiting = [];
    this.waitingNext = [];
    for (const resolve of waiting) resolve(null);
  }
}

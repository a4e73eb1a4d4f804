// Keeps a check of the active configuration current: re-run when the watched
// folders change (the watcher already folds bursts of writes into one notice),
// a run in progress is superseded by a newer one, and every finished run is
// told to status watchers. The last user and desktop asked about are reused.
import type { Logger } from '../log/logger.js';
import type { CommandContext, JobSettings } from '../step/context.js';
import type { ValidationResult, ValidationStatus } from '../protocol/messages.js';
import { validateConfig, type ValidationCache } from '../validate/validate-config.js';
import { RecentLines } from '../step/recent-lines.js';

const RECENT_LINES = 50;

export class LiveValidation {
  private controller: AbortController | null = null;
  private result: ValidationResult | null = null;
  private choices: { user?: string; desktop?: string; flakeConfig?: string } = {};
  // Callers waiting for the next finished run (a superseded run hands them on to its successor).
  private waiting: ((result: ValidationResult | null) => void)[] = [];

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

  // Starts a new run (ending one in progress); resolves with the next finished
  // run's result, or null if the check itself crashed or the daemon stopped.
  run(choices?: { user?: string; desktop?: string; flakeConfig?: string }): Promise<ValidationResult | null> {
    if (choices) this.choices = choices;
    const answer = new Promise<ValidationResult | null>((resolve) => this.waiting.push(resolve));
    this.controller?.abort();
    const controller = new AbortController();
    this.controller = controller;
    const recent = new RecentLines(RECENT_LINES);
    const ctx: CommandContext = {
      signal: controller.signal,
      log: (source, line, level = 'info') => {
        this.logger[level === 'info' ? 'debug' : level]({ source, validation: true }, line);
        recent.add(source, line);
      },
      recentLines: (source, count) => recent.last(source, count),
    };
    void validateConfig(ctx, { source: this.activeSource(), ...this.choices }, this.settings, this.cache).then(
      (result) => {
        if (controller.signal.aborted) return;
        this.controller = null;
        this.result = result;
        this.logger.info({ ok: result.ok, source: result.source, failed: result.checks.filter((c) => !c.ok).map((c) => c.name), durationMs: result.durationMs }, 'configuration checked');
        this.onResult(result);
        this.answer(result);
      },
      (error: unknown) => {
        if (controller.signal.aborted) return;
        this.controller = null;
        this.logger.error({ err: error }, 'configuration check crashed');
        this.answer(null);
      },
    );
    return answer;
  }

  stop(): void {
    this.controller?.abort();
    this.controller = null;
    this.answer(null);
  }

  private answer(result: ValidationResult | null): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve(result);
  }
}

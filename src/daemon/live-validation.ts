// Keeps a check of the configuration folder in use current: re-run when the
// watched folders change (the watcher already folds bursts of writes into one
// notice), and run for each client's validate request. One check runs at a
// time; a change of the folders ends the one in progress.
//
// Whose user and desktop: the live check (what status shows) uses the choices
// of the install running now, else none (configuration checks only); a
// validate request is answered by a check with exactly its own choices. A
// client's choices are never kept for anyone else.
//
// A change never ends the check in progress: a folder that never stops
// changing would otherwise starve every caller. It queues one live check after
// it, and waiting validate requests go first.
import type { Logger } from '../log/logger.js';
import type { CommandContext, JobSettings } from '../common/context.js';
import type { InstallChoices, ValidationResult, ValidationStatus } from '../protocol/messages.js';
import { prepareConfig, PREVIEW_DISK, type PreparedConfig } from '../prepare/prepare-config.js';
import { targetFirmware } from '../prepare/firmware.js';
import { passedOver, type SourceChoice } from '../resolve/config-sources.js';
import { validateConfig, type ValidationCache } from '../validate/validate-config.js';
import { RecentLines } from '../common/recent-lines.js';
import { clip } from '../common/clip.js';
import { InstallError } from '../common/install-error.js';

const RECENT_LINES = 50;
// Lines kept for error descriptions are cut: a 1 MiB trace line must not stay in memory 50 times over.
const MAX_LINE_CHARS = 500;

export interface Choices {
  user?: string;
  desktop?: string;
  flakeConfig?: string;
  // The installer's other choices (a validate request's): the check is then made as an install's.
  choices?: InstallChoices;
}

const keyOf = (choices: Choices) => JSON.stringify([choices.user ?? null, choices.desktop ?? null, choices.flakeConfig ?? null, choices.choices ?? null]);

interface Waiter {
  choices: Choices;
  resolve(result: ValidationResult | null): void;
}

export class LiveValidation {
  private current: { controller: AbortController; choices: Choices } | null = null;
  private liveDue = false;
  private liveResult: ValidationResult | null = null;
  private waiting: Waiter[] = [];

  constructor(
    private readonly settings: JobSettings,
    private readonly logger: Logger,
    private readonly sourceNow: () => SourceChoice,
    // The user and desktop of the install running now, if any.
    private readonly installChoices: () => Choices | null,
    private readonly onResult: (result: ValidationResult) => void,
    private readonly cache: ValidationCache,
  ) {}

  status(): ValidationStatus {
    return { state: this.current ? 'running' : this.liveResult ? 'done' : 'idle', result: this.liveResult };
  }

  // The folders changed (or the daemon started): check again once the check in progress is done.
  refresh(): void {
    this.liveDue = true;
    this.next();
  }

  // A client's validate request: resolves with a check of exactly these choices,
  // or null if the check itself crashed or the daemon stopped.
  check(choices: Choices): Promise<ValidationResult | null> {
    const answer = new Promise<ValidationResult | null>((resolve) => this.waiting.push({ choices, resolve }));
    this.next();
    return answer;
  }

  stop(): void {
    this.current?.controller.abort();
    this.current = null;
    this.liveDue = false;
    const waiting = this.waiting;
    this.waiting = [];
    for (const waiter of waiting) waiter.resolve(null);
  }

  private liveChoices(): Choices {
    return this.installChoices() ?? {};
  }

  private next(): void {
    if (this.current) return;
    let choices: Choices;
    if (this.waiting.length > 0) choices = this.waiting[0]!.choices;
    else if (this.liveDue) {
      this.liveDue = false;
      choices = this.liveChoices();
    } else return;
    this.run(choices);
  }

  private run(choices: Choices): void {
    const controller = new AbortController();
    this.current = { controller, choices };
    const recent = new RecentLines(RECENT_LINES);
    // Nothing of a check goes to the journal but its result (below): its commands' output is only kept for error descriptions.
    const ctx: CommandContext = {
      signal: controller.signal,
      log: (source, line, level = 'info') => {
        this.logger[level === 'info' ? 'debug' : level]({ source, validation: true }, line);
        recent.add(source, clip(line, MAX_LINE_CHARS));
      },
      output: (source, line) => recent.add(source, clip(line, MAX_LINE_CHARS)),
      recentLines: (source, count) => recent.last(source, count),
    };
    const source = this.sourceNow();
    const input = { source: source.active, ...(source.problem && { sourceProblem: source.problem }), ...choices };
    let prepared: PreparedConfig | null = null;
    const check = async (): Promise<ValidationResult> => {
      if (!choices.choices || source.active === null) return validateConfig(ctx, input, this.settings, this.cache);
      // As an install checks: a private copy with this machine's hardware and the choices as defaults (installer-choices.nix).
      // A failure to prepare it (e.g. a link out of the folder) is the source check's failure.
      try {
        prepared = await prepareConfig(ctx, source.active, { choices: choices.choices }, PREVIEW_DISK);
      } catch (error) {
        if (!(error instanceof InstallError)) throw error;
        return validateConfig(ctx, { ...input, source: null, sourceProblem: error }, this.settings, this.cache).then((r) => ({ ...r, source: source.active }));
      }
      const { hostname } = choices.choices;
      return validateConfig(ctx, { ...input, prepared, firmware: targetFirmware(choices.choices), ...(hostname !== undefined && { hostname }) }, this.settings, this.cache);
    };
    const lookedPast = passedOver(source);
    void check()
      .finally(() => (prepared as PreparedConfig | null)?.remove())
      .then((result) => (lookedPast.length > 0 ? { ...result, passedOver: lookedPast } : result))
      .then(
        (result) => {
          if (controller.signal.aborted) return;
          this.current = null;
          const key = keyOf(choices);
          if (key === keyOf(this.liveChoices())) this.liveResult = result;
          this.logger.info(
            { ok: result.ok, source: result.source, user: result.user, desktop: result.desktop, failed: result.checks.filter((c) => !c.ok).map((c) => c.name), durationMs: result.durationMs },
            'configuration checked',
          );
          this.onResult(result);
          this.answer(key, result);
          this.next();
        },
        (error: unknown) => {
          if (controller.signal.aborted) return;
          this.current = null;
          this.logger.error({ err: error }, 'configuration check crashed');
          this.answer(keyOf(choices), null);
          this.next();
        },
      );
  }

  private answer(key: string, result: ValidationResult | null): void {
    const answered = this.waiting.filter((w) => keyOf(w.choices) === key);
    this.waiting = this.waiting.filter((w) => keyOf(w.choices) !== key);
    for (const waiter of answered) waiter.resolve(result);
  }
}

// Fills the kept copy of the configuration folder in use (src/prepare/private-copy.ts) as soon as the daemon
// sees the folder: when it starts, and once the folder has been quiet for FILL_QUIET_MS after the watcher's
// last notice, in the background. An install asked for meanwhile waits for the fill (the kept copy's updates
// run one at a time) and takes nothing more into it, so it copies the folder once, to the target
// (issue 26 item 5). A notice ends the fill in progress, but what it copied whole stays: however often the
// folder changes, a file is copied again only when it changed, never the whole folder.
import type { Logger } from '../log/logger.js';
import type { CommandContext } from '../common/context.js';
import { InstallCancelled, InstallError } from '../common/install-error.js';
import { RACY_MS, dropKeptCopy, fillKeptCopy, keptEntries, removeLeftCopies } from '../prepare/private-copy.js';

// A file written less than RACY_MS before a copy is copied again by the next one: a fill that waits this long
// after the last change keeps every file it copies (and it is well under the time to go through Calamares' pages).
export const FILL_QUIET_MS = RACY_MS;

export class KeptCopyFill {
  private controller: AbortController | null = null;
  private timer: NodeJS.Timeout | null = null;
  // The fills asked for, one after another.
  private fills: Promise<void> = Promise.resolve();
  private stopped = false;
  // A folder whose fill failed for want of room or another fault of the system: not filled ahead again (the
  // fill would repeat the same full copy at every change); checks and installs still copy it when they need it.
  private failedFor: string | null = null;

  constructor(
    private readonly logger: Logger,
    // The folder in use now (null: none is usable).
    private readonly sourceNow: () => string | null,
    private readonly quietMs = FILL_QUIET_MS,
  ) {}

  // Kept copies that daemons now gone left in /tmp (after a crash): their RAM is given back.
  removeLeftovers(): Promise<void> {
    return removeLeftCopies();
  }

  // Now (once the eval user is known: the copy's modes are its group's): an install asked for after this finds
  // the kept copy filled, or waits for the fill.
  start(): void {
    this.begin();
  }

  // The watcher's notice: the fill in progress ends, another starts once the folder is quiet.
  changed(): void {
    if (this.stopped) return;
    this.controller?.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.begin();
    }, this.quietMs);
  }

  // No fill runs or is due.
  async settled(): Promise<void> {
    for (;;) {
      const fills = this.fills;
      await fills;
      if (this.timer === null && this.fills === fills) return;
      await new Promise((resolve) => setTimeout(resolve, this.quietMs));
    }
  }

  // The daemon stops: the fill ends, and the kept copy goes with what any check or install left in it.
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.controller?.abort();
    await this.fills;
    await dropKeptCopy(true);
  }

  private begin(): void {
    if (this.stopped) return;
    const controller = new AbortController();
    this.controller = controller;
    const fill = async () => {
      if (controller.signal.aborted) return;
      const source = this.sourceNow();
      // No folder in use: its RAM is given back.
      if (source === null) return dropKeptCopy();
      if (source === this.failedFor) return;
      const ctx: CommandContext = {
        signal: controller.signal,
        log: (from, line, level = 'info') => this.logger[level === 'info' ? 'debug' : level]({ source: from, keptCopy: true }, line),
        output: () => undefined,
        recentLines: () => [],
      };
      const started = Date.now();
      try {
        const written = await fillKeptCopy(ctx, source);
        this.logger.info({ source, written, entries: keptEntries(), durationMs: Date.now() - started }, 'kept copy of the configuration filled');
      } catch (error) {
        if (error instanceof InstallCancelled) this.logger.info({ source, entries: keptEntries() }, 'kept copy fill ended early: the folder changed or the daemon stops');
        // The folder cannot be copied (a link out of it, say): the checks say so; an install will refuse it.
        else if (error instanceof InstallError) this.logger.info({ source, reason: error.title }, 'kept copy of the configuration not filled');
        else {
          this.failedFor = source;
          this.logger.error({ err: error, source }, 'kept copy fill failed; the folder is copied when a check or an install needs it');
        }
      } finally {
        if (this.controller === controller) this.controller = null;
      }
    };
    this.fills = this.fills.then(fill);
  }
}

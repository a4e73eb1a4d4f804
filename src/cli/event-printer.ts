// An install's events as a person reads them, on a terminal or through a
// pipe alike: the phases, the progress (redrawn in place on a terminal, every
// tenth through a pipe), warnings and errors, and the result. The commands'
// own output (a system build prints hundreds of thousands of lines) is in the
// install log; --verbose prints it too. On a terminal the latest line stands
// dimmed under the bar, so a long build visibly moves.
import type { LogEvent, PhaseEvent, ProgressEvent, ResultEvent, ValidationResult } from '../protocol/messages.js';
import { logLines, phaseLine, progressBar, resultText, validationSummary } from './render.js';
import type { Style } from './terminal.js';

export interface PrinterOptions {
  tty: boolean;
  verbose: boolean;
  style: Style;
  // The terminal's width: the lines redrawn in place must not wrap.
  columns(): number;
  write(text: string): void;
  // When the command started (ms since the epoch), to tell its own run time from the daemon's.
  startedAt: number;
}

export interface EventPrinter {
  validation(event: ValidationResult): void;
  phase(event: PhaseEvent): void;
  progress(event: ProgressEvent): void;
  log(event: LogEvent): void;
  result(event: ResultEvent): void;
}

// The daemon's error lines are the failure the result prints once.
export function isShownWithoutVerbose(event: LogEvent): boolean {
  return event.level === 'warn' || (event.level === 'error' && event.source !== 'daemon');
}

// Redraws of the line under the bar, at most this often (build output comes in bursts).
const LATEST_LINE_MS = 100;

export function eventPrinter(options: PrinterOptions): EventPrinter {
  const { tty, verbose, style, write } = options;
  const print = (text: string) => write(`${text}\n`);
  let bar = '';
  let latest = '';
  // What stands redrawable at the bottom now (bar, and the latest line under it), and on how many lines.
  let drawn = '';
  let drawnLines = 0;
  let lastPercent = -1;
  let latestTimer: NodeJS.Timeout | null = null;

  const fit = (text: string) => {
    const width = Math.max(20, options.columns() - 1);
    return text.length > width ? `${text.slice(0, width - 1)}…` : text;
  };
  const clearLive = () => {
    if (drawnLines === 2) write('\r\x1b[2K\x1b[1A');
    if (drawnLines > 0) write('\r\x1b[2K');
    drawn = '';
    drawnLines = 0;
  };
  const drawLive = () => {
    if (!tty || !bar) return;
    const next = latest ? `${fit(bar)}\n${style.dim(fit(latest))}` : fit(bar);
    // Only when it changed: the heartbeat repeats the last progress event.
    if (next === drawn) return;
    clearLive();
    write(next);
    drawn = next;
    drawnLines = latest ? 2 : 1;
  };
  // A line of its own above the bar, which is drawn again below it.
  const printAbove = (text: string) => {
    clearLive();
    print(text);
    drawLive();
  };

  return {
    validation: (event) => printAbove(`check: ${validationSummary(event, style)}`),
    phase(event) {
      clearLive();
      bar = '';
      latest = '';
      print(phaseLine(event, style));
    },
    progress(event) {
      const next = progressBar(event);
      if (tty) {
        bar = next;
        drawLive();
        return;
      }
      const percent = Math.floor(event.fraction * 10) * 10;
      if (percent > lastPercent) print(next);
      lastPercent = Math.max(lastPercent, percent);
    },
    log(event) {
      if (verbose || isShownWithoutVerbose(event)) {
        printAbove(logLines(event));
        return;
      }
      if (!tty) return;
      // eslint-disable-next-line no-control-regex
      latest = `[${event.source}] ${event.lines.at(-1)!.replace(/[\x00-\x1f\x7f]+/g, ' ')}`;
      latestTimer ??= setTimeout(() => {
        latestTimer = null;
        drawLive();
      }, LATEST_LINE_MS);
    },
    result(event) {
      if (latestTimer) clearTimeout(latestTimer);
      latestTimer = null;
      clearLive();
      bar = '';
      print(resultText(event, style, Date.now() - options.startedAt));
    },
  };
}

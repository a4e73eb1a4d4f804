// The context every stage of one install gets: its lines go to the install's
// log file and, batched, to the clients; phases and progress become events (the
// last one repeated as a heartbeat); each phase gets a timer for the journal's
// one line per phase; the last lines are kept for the result's log tail.
import type { InstallLog } from '../log/logger.js';
import { HEARTBEAT_MS, LOG_TAIL_LINES, MAX_LOG_LINE_CHARS } from '../protocol/limits.js';
import { PROTOCOL_VERSION, type ProgressEvent } from '../protocol/messages.js';
import { phaseTitle } from '../protocol/install-phases.js';
import type { Phase } from '../protocol/vocabularies.js';
import { clip } from '../common/clip.js';
import type { CopyCounts, JobContext, JobSettings } from '../common/context.js';
import { RecentLines } from '../common/recent-lines.js';
import type { BatchingSink } from './batch-log-events.js';
import { overallFraction, type Stage } from './stage.js';

const PROGRESS_INTERVAL_MS = 50;
const TAIL_LINE_CHARS = 500;
const RECENT_PER_SOURCE = 50;
// Warnings kept for a fleet target's receipt: the first ones, each clipped (a runaway warning must not grow it).
const MAX_WARNINGS = 50;

export function truncate(line: string, max: number): string {
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

export interface InstallContext {
  ctx: JobContext;
  // The phase the install is in (the last one begun).
  phase(): Phase;
  // The journal's line for the phase under way: how it ended, how long it took, how much its commands printed.
  endPhase(outcome: string): void;
  // The last lines logged, for the result.
  logTail(): string[];
  // The lines logged as warnings so far (at most MAX_WARNINGS), with their source.
  warnings(): string[];
  stopHeartbeat(): void;
}

export function installContext(
  installId: string,
  root: string,
  signal: AbortSignal,
  settings: JobSettings,
  log: Pick<InstallLog, 'logger' | 'output'>,
  relay: BatchingSink,
  stages: readonly Stage[],
): InstallContext {
  const { logger, output } = log;
  const tail: string[] = [];
  const warnings: string[] = [];
  const recent = new RecentLines(RECENT_PER_SOURCE);
  let phase: Phase = 'hardware';
  let shown = 0;
  let lastProgressAt = 0;
  let detail = '';
  let counts: CopyCounts = { bytesDone: 0, bytesTotal: 0, pathsDone: 0, pathsTotal: 0 };
  // A quiet phase (NixOS evaluation prints nothing for a minute) must not look like a dead daemon.
  let lastProgress: ProgressEvent | null = null;
  // The journal's one line per phase: how long it took and how much its commands printed.
  let phaseTimer: { phase: Phase; started: number; outputLines: number } | null = null;
  const endPhase = (outcome: string) => {
    if (!phaseTimer) return;
    const durationMs = Date.now() - phaseTimer.started;
    logger.info({ phaseEnded: phaseTimer.phase, outcome, durationMs, outputLines: phaseTimer.outputLines }, `phase ${phaseTimer.phase} ${outcome} after ${(durationMs / 1000).toFixed(1)} s; its commands printed ${phaseTimer.outputLines} lines (in the install log)`);
    phaseTimer = null;
  };
  const relayLine = (source: string, line: string, level: 'info' | 'warn' | 'error') => {
    relay.line(source, truncate(line, MAX_LOG_LINE_CHARS), level);
    // Kept lines are copies (clip): a slice would keep a whole 1 MiB line alive.
    const tagged = clip(`[${source}] ${line}`, TAIL_LINE_CHARS + source.length + 3);
    tail.push(tagged);
    if (tail.length > LOG_TAIL_LINES) tail.shift();
    recent.add(source, clip(line, TAIL_LINE_CHARS));
    if (level === 'warn' && warnings.length < MAX_WARNINGS) warnings.push(tagged);
  };

  const ctx: JobContext = {
    installId,
    root,
    signal,
    settings,
    log(source, line, level = 'info') {
      logger[level]({ source }, line);
      relayLine(source, line, level);
    },
    output(source, line, level = 'info') {
      output[level]({ source }, line);
      if (phaseTimer) phaseTimer.outputLines++;
      relayLine(source, line, level);
    },
    recentLines: (source, count) => recent.last(source, count),
    phase(next) {
      endPhase('done');
      phase = next;
      phaseTimer = { phase: next, started: Date.now(), outputLines: 0 };
      detail = '';
      logger.info({ phase: next }, phaseTitle(next));
      relay.phase({ v: PROTOCOL_VERSION, installId, phase: next, title: phaseTitle(next) });
      this.progress(0);
    },
    progress(phaseFraction, copyCounts, next) {
      if (copyCounts) counts = copyCounts;
      const newDetail = next !== undefined && next !== detail;
      if (newDetail) detail = next;
      shown = Math.max(shown, overallFraction(phase, phaseFraction, stages));
      const now = Date.now();
      // The copy sampler and a burst of small paths would flood the socket; the bar needs ~20 updates a second.
      if (now - lastProgressAt < PROGRESS_INTERVAL_MS && phaseFraction < 1 && phaseFraction > 0 && !newDetail) return;
      lastProgressAt = now;
      lastProgress = { v: PROTOCOL_VERSION, installId, phase, fraction: shown, ...counts, ...(detail && { detail }) };
      relay.progress(lastProgress);
    },
  };
  const heartbeat = setInterval(() => lastProgress && relay.progress(lastProgress), HEARTBEAT_MS);
  return { ctx, phase: () => phase, endPhase, logTail: () => [...tail], warnings: () => [...warnings], stopHeartbeat: () => clearInterval(heartbeat) };
}

// The install pipeline's parts: a stage is one phase of an install (its title
// and its share of the progress bar come from nix/install-phases.json), what it does,
// and what it must release when the install stops. An install is a Pipeline:
// attended-stages.ts and unattended-stages.ts list the same stages
// (shared-stages.ts), each install kind with its own variants where they differ.
import type { CheckedDisk } from '../disk/check-disk.js';
import type { DiskSession } from '../disk/disk-session.js';
import type { Formatted } from '../disk/format.js';
import type { PartitionNodes } from '../disk/partition.js';
import type { InstallLog } from '../log/logger.js';
import type { PreparedConfig } from '../prepare/prepare-config.js';
import type { AppliedChoice, ErrorInfo, InstallRequest, ResultEvent, ValidationResult } from '../protocol/messages.js';
import type { FleetRun } from './fleet-seed.js';
import { phaseRow } from '../protocol/install-phases.js';
import type { Phase } from '../protocol/vocabularies.js';
import type { JobContext, JobSettings } from '../common/context.js';
import type { InstallError } from '../common/install-error.js';
import type { ValidationCache } from '../validate/validate-config.js';
import type { UnattendedPlan } from './unattended.js';

// One install as it goes: what the request asked, and what each stage found or made for the next.
export interface InstallRun {
  ctx: JobContext;
  request: InstallRequest;
  // The configuration folder installed from.
  source: string;
  settings: JobSettings;
  validationCache: ValidationCache | undefined;
  // Unattended: the answer file and its disk.
  plan: UnattendedPlan | null;
  // Unattended: the private mount point and what is opened and mounted on the disk.
  session: DiskSession | null;
  prepared: PreparedConfig | null;
  validation: ValidationResult | null;
  choices: AppliedChoice[] | undefined;
  // Unattended: the disk as checked, then as partitioned, formatted and (once mounted) ready.
  checked: CheckedDisk | null;
  partitioned: PartitionNodes | null;
  formatting: Formatted | null;
  formatted: Formatted | null;
  // Set once anything was written to the target (then the log goes there too).
  targetTouched: boolean;
  // The install's own log file (flushed before it is copied to the target).
  log: Pick<InstallLog, 'logger' | 'flush'>;
  // A fleet target: the seed it reports to, and its go once given (fleet-target-stages.ts).
  fleet: FleetRun | null;
  // The lines logged as warnings so far (for a fleet target's receipt).
  warnings(): string[];
  logPath: string;
  targetLogPath: string | null;
  toplevel: string | null;
}

export interface Stage {
  phase: Phase;
  title: string;
  weight: number;
  run(install: InstallRun): Promise<void>;
  // Run for every stage of the install when it stops, however it stops (the
  // stage ran or not), last stage first: what it made that must not outlive the
  // install. An error it returns fails an install that had succeeded.
  release?(install: InstallRun, state: ResultEvent['state']): Promise<InstallError | null>;
}

export interface Pipeline {
  stages: readonly Stage[];
  // The request's own checks, before the install has a log (a stream of bad requests must not fill it).
  // ROOT is the request's target, or what stands for it in messages until there is one.
  checkRequest(request: InstallRequest, root: string): Promise<void>;
  // Before the first phase: what the install starts from.
  start(install: InstallRun): Promise<void>;
  // What a person can do after a failure or cancel, as far as the target or disk goes.
  again(install: InstallRun, phase: Phase): string;
  // It writes to no target whatever phase it ends in (a fleet target's check on the seed): its log is pruned as a refused install's.
  writesNothing?: boolean;
  // Once everything is released: the install's end, told where it must be (a fleet target's seed).
  ended?(install: InstallRun, state: ResultEvent['state'], error: (ErrorInfo & { field?: string }) | null): Promise<void>;
}

// Title and weight (its share of the bar) from nix/install-phases.json: the
// phases of an install into a mounted target make the whole bar; an unattended
// install's disk phases come on top, and its bar is scaled to fit.
export function defineStage(phase: Phase, run: Stage['run'], release?: Stage['release']): Stage {
  const { title, weight } = phaseRow(phase);
  return { phase, title, weight, run, ...(release && { release }) };
}

// The whole install's fraction: the stages before this one, and this one's part. The
// weights of the stages an install has are scaled to fill the bar.
export function overallFraction(phase: Phase, phaseFraction: number, stages: readonly Pick<Stage, 'phase' | 'weight'>[]): number {
  const total = stages.reduce((sum, s) => sum + s.weight, 0);
  let before = 0;
  let weight = 0;
  for (const s of stages) {
    if (s.phase === phase) {
      weight = s.weight;
      break;
    }
    before += s.weight;
  }
  return Math.min(1, (before + weight * Math.min(Math.max(phaseFraction, 0), 1)) / total);
}

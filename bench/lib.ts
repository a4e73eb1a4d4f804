// Shared by the benchmarks: sizes (full or quick), statistics, process memory,
// and writing one benchmark's result for the table.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

// BENCH_QUICK=1: small sizes, one run each; only shows the benchmarks still run.
export const QUICK = process.env.BENCH_QUICK === '1';
// Quick runs write apart, so they never replace the figures of a full run.
export const RESULTS = join(import.meta.dirname, 'results', ...(QUICK ? ['quick'] : []));

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

// Resident memory of a process, in MB.
export function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline: number | null;
  baselineLabel: string | null;
  // How the figure compares with its goal: "<= 5" means value must be at most 5.
  goal: string;
  // null: a figure shown for context, with no goal of its own.
  met: boolean | null;
}

export interface BenchResult {
  benchmark: string;
  title: string;
  figures: Figure[];
  notes: string[];
  quick: boolean;
  at: string;
  machine: { cpus: number; cpu: string; memoryGB: number; node: string; nix: string };
}

function machine(): BenchResult['machine'] {
  const nix = (() => {
    try {
      return execFileSync('nix', ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  return { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version, nix };
}

export function record(benchmark: string, title: string, figures: Figure[], notes: string[] = []): BenchResult {
  const result: BenchResult = { benchmark, title, figures, notes, quick: QUICK, at: new Date().toISOString(), machine: machine() };
  mkdirSync(RESULTS, { recursive: true });
  writeFileSync(join(RESULTS, `${benchmark}.json`), `${JSON.stringify(result, null, 2)}\n`);
  for (const f of figures) {
    const base = f.baseline === null ? '' : `  (baseline ${f.baselineLabel}: ${f.baseline.toFixed(2)})`;
    process.stdout.write(`[bench ${benchmark}] ${f.name}: ${f.value.toFixed(2)} ${f.unit}${base}  ${f.met === null ? '' : `goal ${f.goal} ${f.met ? 'met' : 'NOT met'}`}\n`);
  }
  return result;
}

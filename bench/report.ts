// After the benchmarks: merges every benchmark's latest result into
// bench/results/latest.json and prints the table.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESULTS, type BenchResult } from './lib.js';

export function table(results: readonly BenchResult[]): string {
  const rows = [['benchmark', 'figure', 'value', 'baseline (same run)', 'goal', 'met', 'when']];
  for (const r of results) {
    for (const f of r.figures) {
      rows.push([
        r.benchmark,
        f.name,
        `${f.value.toFixed(2)} ${f.unit}`,
        f.baseline === null ? '' : `${f.baseline.toFixed(2)} (${f.baselineLabel})`,
        f.goal,
        f.met === null ? '-' : f.met ? 'yes' : 'NO',
        `${r.at.slice(0, 16)}${r.quick ? ' quick' : ''}`,
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => `| ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`).join('\n');
}

export default function setup(): () => void {
  return () => {
    if (!existsSync(RESULTS)) return;
    const results = readdirSync(RESULTS)
      .filter((f) => f.endsWith('.json') && f !== 'latest.json')
      .map((f) => JSON.parse(readFileSync(join(RESULTS, f), 'utf8')) as BenchResult)
      .sort((a, b) => a.benchmark.localeCompare(b.benchmark));
    writeFileSync(join(RESULTS, 'latest.json'), `${JSON.stringify({ generatedAt: new Date().toISOString(), results }, null, 2)}\n`);
    process.stdout.write(`\n${table(results)}\n\nResults: bench/results/latest.json\n`);
  };
}

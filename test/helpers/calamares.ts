// Runs the project's Calamares job module in the real Calamares (Debian's
// package), headless, through test/calamares-headless/run.sh: globalstorage
// preset by its seed-globalstorage job, then our module in the exec phase.
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { REPO } from './env.js';

export const RUN_SH = join(REPO, 'test/calamares-headless/run.sh');
export const MODULE_DIR = join(REPO, 'calamares/modules/nixos-offline');

export interface CalamaresRun {
  log: string;
  stdout: string;
}

export interface CalamaresHandle {
  process: ChildProcess;
  done: Promise<CalamaresRun>;
}

// A copy of our module whose configuration points at a test's socket.
export async function moduleCopy(dir: string, settings: { socket: string; connectTimeout?: number; idleTimeout?: number }): Promise<string> {
  const modules = join(dir, 'calamares-modules');
  await mkdir(modules, { recursive: true });
  await cp(MODULE_DIR, join(modules, 'nixos-offline'), { recursive: true });
  const conf = ['---', `socket: ${settings.socket}`, `connectTimeout: ${settings.connectTimeout ?? 5}`, `idleTimeout: ${settings.idleTimeout ?? 60}`, ''].join('\n');
  await writeFile(join(modules, 'nixos-offline', 'nixos-offline.conf'), conf);
  return modules;
}

export function startCalamares(dir: string, modules: string, seed: Record<string, unknown>): CalamaresHandle {
  const seedFile = join(dir, `seed-${Date.now()}.json`);
  const started = writeFile(seedFile, JSON.stringify(seed));
  let child!: ChildProcess;
  const done = started.then(
    () =>
      new Promise<CalamaresRun>((resolve, reject) => {
        child = spawn('bash', [RUN_SH, seedFile, modules, 'nixos-offline'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CALAMARES_TIMEOUT: '300' } });
        handle.process = child;
        let stdout = '';
        child.stdout!.on('data', (d) => (stdout += d));
        child.stderr!.on('data', (d) => (stdout += d));
        child.once('close', async () => {
          const logPath = stdout.trim().split('\n').at(-1)!;
          try {
            resolve({ log: await readFile(logPath, 'utf8'), stdout });
          } catch (error) {
            reject(new Error(`no Calamares session log (${String(error)}):\n${stdout}`));
          }
        });
      }),
  );
  const handle: CalamaresHandle = { process: child, done };
  return handle;
}

export function runCalamares(dir: string, modules: string, seed: Record<string, unknown>): Promise<CalamaresRun> {
  return startCalamares(dir, modules, seed).done;
}

// Calamares' own words for a failed job: `Installation failed: "<title>"`, then
// `- details: <description>` running up to the next timestamped log line.
export function failure(log: string): { title: string; details: string } | null {
  // Calamares quotes the title and escapes quotes inside it.
  const title = /Installation failed: "((?:[^"\\]|\\.)*)"/.exec(log);
  if (!title) return null;
  const details = /\.\. - details: ([\s\S]*?)(?=\n\d{4}-\d\d-\d\d - |$)/.exec(log.slice(title.index));
  return { title: title[1]!.replace(/\\(.)/g, '$1'), details: details?.[1] ?? '' };
}

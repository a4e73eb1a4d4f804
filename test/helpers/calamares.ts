// Runs the project's Calamares job module in the real Calamares (Debian's
// package), headless, through test/calamares-headless/run.sh: globalstorage
// preset by its seed-globalstorage job, then our module in the exec phase.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
  // The session log so far (empty before Calamares writes it).
  logSoFar(): Promise<string>;
  // Quits this run's Calamares (as its Cancel button does), and no other one on the machine.
  quit(): void;
}

// The processes started under `pid`, depth first.
function descendants(pid: number): number[] {
  const found = spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  return found.flatMap((child) => [child, ...descendants(child)]);
}

export interface StepInstance {
  id: string;
  config: string;
  weight: number;
}

// Every instance of our module in calamares/config/settings.conf, in order.
function moduleInstances(): StepInstance[] {
  const settings = readFileSync(join(REPO, 'calamares/config/settings.conf'), 'utf8');
  return [...settings.matchAll(/^- id: +(\S+)\n {2}module: +nixos-offline\n {2}config: +(\S+)\n {2}weight: +(\d+)$/gm)].map((m) => ({ id: m[1]!, config: m[2]!, weight: Number(m[3]) }));
}

// The check step's instance: it runs before the install, in an exec block of its own.
export const CHECK_ID = 'check';

export function checkInstance(): StepInstance {
  return moduleInstances().find((i) => i.id === CHECK_ID)!;
}

// The install's per-step instances of our module in settings.conf, in order.
export function stepInstances(): StepInstance[] {
  return moduleInstances().filter((i) => i.id !== CHECK_ID);
}

// run.sh's job for the check step, as settings.conf configures it.
export function checkJob(): string {
  const { id, weight } = checkInstance();
  return `nixos-offline@${id}:${weight}`;
}

// The module's steps: name -> (pretty name, the daemon phases it covers), from nix/install-phases.json.
export function moduleSteps(): Record<string, { title: string; phases: string[] }> {
  const table = JSON.parse(readFileSync(join(REPO, 'nix/install-phases.json'), 'utf8')) as { phases: { name: string; title: string }[]; calamares: { steps: { name: string; title?: string; phases: string[] }[] } };
  // A step without a title of its own shows its first phase's (main.py).
  const phaseTitle = (phase: string) => table.phases.find((p) => p.name === phase)!.title;
  return Object.fromEntries(table.calamares.steps.map((s) => [s.name, { title: s.title ?? phaseTitle(s.phases[0]!), phases: s.phases }]));
}

// The tables the package puts beside the module (nix/package.nix), read by main.py from its own folder.
export const MODULE_TABLES = ['install-phases.json', 'installer-defaults.json', 'locale-categories.json'];

// The jobs run.sh runs for the install as settings.conf splits it: nixos-offline@ID:WEIGHT.
export function stepJobs(): string[] {
  return stepInstances().map((i) => `nixos-offline@${i.id}:${i.weight}`);
}

// A copy of our module whose configuration (and each step instance's, from
// calamares/config/modules/) points at a test's socket.
export async function moduleCopy(dir: string, settings: { socket: string; connectTimeout?: number; idleTimeout?: number; checkTimeout?: number }): Promise<string> {
  const modules = join(dir, 'calamares-modules');
  await mkdir(modules, { recursive: true });
  await cp(MODULE_DIR, join(modules, 'nixos-offline'), { recursive: true });
  for (const table of MODULE_TABLES) await cp(join(REPO, 'nix', table), join(modules, 'nixos-offline', table));
  const conf = ['---', `socket: ${settings.socket}`, `connectTimeout: ${settings.connectTimeout ?? 5}`, `idleTimeout: ${settings.idleTimeout ?? 60}`, `checkTimeout: ${settings.checkTimeout ?? 120}`, ''].join('\n');
  await writeFile(join(modules, 'nixos-offline', 'nixos-offline.conf'), conf);
  for (const { config } of moduleInstances()) {
    const step = await readFile(join(REPO, 'calamares/config/modules', config), 'utf8');
    await writeFile(join(modules, 'nixos-offline', config), `${step.trimEnd()}\n${conf.slice('---\n'.length)}`);
  }
  return modules;
}

export interface CalamaresOptions {
  // run.sh's JOB arguments; the module as one job by default.
  jobs?: string[];
  // An X display to show the window on (CALAMARES_DISPLAY); headless without.
  display?: string;
  // More environment for Calamares and its jobs (e.g. SHOW_GLOBALSTORAGE for the show-globalstorage job).
  env?: Record<string, string>;
}

export function startCalamares(dir: string, modules: string, seed: Record<string, unknown>, options: CalamaresOptions = {}): CalamaresHandle {
  const seedFile = join(dir, `seed-${Date.now()}.json`);
  let logPath: string | undefined;
  const started = writeFile(seedFile, JSON.stringify(seed));
  let child!: ChildProcess;
  const done = started.then(
    () =>
      new Promise<CalamaresRun>((resolve, reject) => {
        const env = { ...process.env, CALAMARES_TIMEOUT: '300', ...(options.display && { CALAMARES_DISPLAY: options.display }), ...options.env };
        child = spawn('bash', [RUN_SH, seedFile, modules, ...(options.jobs ?? ['nixos-offline'])], { stdio: ['ignore', 'pipe', 'pipe'], env });
        handle.process = child;
        let stdout = '';
        child.stdout!.on('data', (d) => {
          stdout += d;
          logPath ??= /^session log: (.*)$/m.exec(stdout)?.[1];
        });
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
  const handle: CalamaresHandle = {
    process: child,
    done,
    logSoFar: async () => (logPath ? readFile(logPath, 'utf8').catch(() => '') : ''),
    quit() {
      const name = (pid: number) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        } catch {
          return null; // already gone
        }
      };
      const calamares = descendants(handle.process.pid!).filter((pid) => name(pid) === 'calamares');
      if (calamares.length !== 1) throw new Error(`expected one Calamares under run.sh, found ${calamares.length}`);
      process.kill(calamares[0]!, 'SIGTERM');
    },
  };
  return handle;
}

export function runCalamares(dir: string, modules: string, seed: Record<string, unknown>, options: CalamaresOptions = {}): Promise<CalamaresRun> {
  return startCalamares(dir, modules, seed, options).done;
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

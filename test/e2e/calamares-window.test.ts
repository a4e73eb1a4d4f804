// What a person sees: the real Calamares in a real window (Xvfb), our module
// installing through the real daemon as settings.conf splits it into steps,
// with the stand-ins slowed to take seconds per step. Screenshots are taken
// while it runs; the status line is read back with OCR and the bar's length
// measured from its pixels.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { PHASES, phaseTitle } from '../../src/protocol/install-phases.js';
import { checkJob, failure, moduleCopy, moduleSteps, startCalamares, stepJobs } from '../helpers/calamares.js';
import { runCli } from '../helpers/cli.js';
import { writeConfig } from '../helpers/config.js';
import { cleanUp, startDaemon, type RunningDaemon } from '../helpers/daemon.js';
import { REPO, scratchWithRoot } from '../helpers/env.js';
import { longestRuns, readLine, readText, savePng, screenshot, startXvfb, type Frame } from '../helpers/screen.js';

let dir: string;
let root: string;
let daemon: RunningDaemon | null = null;

beforeEach(async () => ({ dir, root } = await scratchWithRoot('window')));
afterEach(async () => {
  await cleanUp(dir, daemon);
  daemon = null;
});

const SHOT_INTERVAL_MS = 400;
// Seconds the slowed stand-ins take: the hardware probe, each of two builds, nixos-install.
const STAND_IN_DELAY = '3';

// Fusion's progress-bar chunk (Qt 5 and 6): a clear blue, nothing else on the exec page is.
const isBarBlue = ([r, g, b]: [number, number, number]) => b > 150 && b - r > 90 && g > 90 && g < b;

// Lower case, letters, digits and dots only: what OCR reliably gets right.
const normal = (text: string) => text.toLowerCase().replace(/[^a-z0-9.]+/g, ' ').trim();

interface Bar {
  x: number;
  top: number;
  bottom: number;
}

// The bar's place: the rows of the longest blue run seen in any frame, starting where it starts.
function findBar(frames: Frame[]): Bar {
  let best = { frame: frames[0]!, length: 0 };
  for (const frame of frames) {
    const length = Math.max(...longestRuns(frame, { x: 0, y: 0, width: frame.width, height: frame.height }, isBarBlue).map((r) => r.length));
    if (length > best.length) best = { frame, length };
  }
  expect(best.length, 'no progress bar in any screenshot').toBeGreaterThan(50);
  const runs = longestRuns(best.frame, { x: 0, y: 0, width: best.frame.width, height: best.frame.height }, isBarBlue).filter((r) => r.length > best.length * 0.9);
  return { x: Math.min(...runs.map((r) => r.x)), top: Math.min(...runs.map((r) => r.y)), bottom: Math.max(...runs.map((r) => r.y)) };
}

// The chunk's length in a frame: its longest blue run from the bar's left end (the percentage text cuts some rows).
function barLength(frame: Frame, bar: Bar): number {
  const runs = longestRuns(frame, { x: bar.x, y: bar.top, width: frame.width - bar.x, height: bar.bottom - bar.top + 1 }, isBarBlue);
  return Math.max(0, ...runs.filter((r) => r.x <= bar.x + 2).map((r) => r.length));
}

it('names each step of the install under the bar, and the bar moves through the install, in a real Calamares window', async () => {
  const source = await writeConfig(join(dir, 'cfg'), { hostName: 'window', payloads: { big: 1_000_000_000 }, noise: { lines: 20, nonce: `${Date.now()}` } });
  daemon = await startDaemon({ dir, configDirs: [source], env: { NOI_STAND_IN_DELAY: STAND_IN_DELAY } });
  const modules = await moduleCopy(dir, { socket: daemon.socket });
  const display = await startXvfb();
  const frames: Frame[] = [];
  let log: string;
  let stdout: string;
  try {
    const calamares = startCalamares(dir, modules, { rootMountPoint: root, username: 'alice', packagechooser_packagechooser: 'gnome' }, { jobs: stepJobs(), display: display.name });
    let finished = false;
    void calamares.done.finally(() => (finished = true));
    while (!finished) {
      frames.push(await screenshot(display));
      await new Promise((r) => setTimeout(r, SHOT_INTERVAL_MS));
    }
    ({ log, stdout } = await calamares.done);
  } finally {
    await display.stop();
  }
  expect(failure(log), log).toBeNull();
  // All four steps ran, and the install finished (Calamares quitting early would have cancelled it).
  expect(log.match(/Starting job "nixos-offline"/g), stdout).toHaveLength(4);
  expect((await runCli(['status', '--socket', daemon.socket, '--json'])).events[0]!.data.status.install.state, stdout).toBe('succeeded');
  const version = /(?:START CALAMARES|Calamares version:) (\d+)\.(\d+)/.exec(log)!;
  // Calamares 3.2 shows the status text of every progress report; 3.3+ only each job's name.
  const rereadsStatus = Number(version[1]) === 3 && Number(version[2]) < 3;

  const bar = findBar(frames);
  const shots = join(dir, 'shots');
  await mkdir(shots);
  const seen: { line: string; length: number }[] = [];
  for (const [i, frame] of frames.entries()) {
    // The status line sits right under the bar.
    const line = await readLine(frame, { x: Math.max(0, bar.x - 4), y: bar.bottom + 3, width: Math.min(800, frame.width - bar.x), height: 22 }, join(shots, `line-${i}`));
    const length = barLength(frame, bar);
    // Neither text nor bar: before the first job reports, or after the last.
    if (line || length) seen.push({ line, length });
  }
  // NOI_SCREENSHOTS=<folder> keeps every screenshot, for a person to look at.
  const keep = process.env.NOI_SCREENSHOTS;
  if (keep) {
    await mkdir(keep, { recursive: true });
    for (const [i, frame] of frames.entries()) await savePng(frame, join(keep, `shot-${String(i).padStart(3, '0')}.png`));
  }

  const titles = rereadsStatus ? PHASES.map(phaseTitle) : Object.values(moduleSteps()).map((s) => s.title);
  const shown = new Set(seen.flatMap(({ line }) => titles.filter((t) => normal(line).startsWith(normal(t)))));
  const report = seen.map((s) => `${s.length}\t${s.line}`).join('\n');
  expect(shown.size, report).toBeGreaterThanOrEqual(3);
  expect(new Set(seen.map((s) => s.length)).size, report).toBeGreaterThanOrEqual(4);
  // The bar never goes back.
  const lengths = seen.map((s) => s.length);
  expect(lengths, report).toEqual([...lengths].sort((a, b) => a - b));
  // The copy, nearly all of the install's work, moves the bar across most of its width.
  // Measured from the frame before the copy step to the first one after it: screenshots of a
  // loaded machine may catch only a few frames within the copy itself.
  const isCopy = ({ line }: { line: string }) => normal(line).startsWith(normal(phaseTitle('copy')));
  const copying = seen.filter(isCopy);
  expect(copying.length, report).toBeGreaterThan(1);
  expect(copying.at(-1)!.length, report).toBeGreaterThan(copying[0]!.length);
  const before = seen[seen.findIndex(isCopy) - 1]?.length ?? 0;
  const after = seen.slice(seen.findLastIndex(isCopy) + 1)[0]?.length ?? copying.at(-1)!.length;
  expect(after - before, report).toBeGreaterThan(0.5 * Math.max(...lengths));
  if (rereadsStatus) expect(copying.some(({ line }) => /: \d\.\d of 1\.0 GB$/.test(line)), report).toBe(true);
}, 300_000);

it('shows each choice and whether it applies on the page after the check, before the install, in a real Calamares window', async () => {
  const source = await writeConfig(join(dir, 'cfg'), { hostName: 'own-name', extra: 'time.timeZone = "UTC";' });
  daemon = await startDaemon({ dir, configDirs: [source] });
  const modules = await moduleCopy(dir, { socket: daemon.socket });
  // settings.conf's choices page, its QML file taken from the repository.
  const notes = await readFile(join(REPO, 'calamares/config/modules/notesqml-choices.conf'), 'utf8');
  const qml = /^qmlFilename: (\S+)$/m.exec(notes)![1]!;
  const conf = join(dir, 'notesqml-choices.conf');
  await writeFile(conf, notes.replace(qml, join(REPO, 'calamares/qml', basename(qml))));
  const seed = {
    rootMountPoint: root, username: 'alice', packagechooser_packagechooser: 'gnome', hostname: 'field-01', firmwareType: 'efi',
    locationRegion: 'Europe', locationZone: 'Berlin', localeConf: { LANG: 'de_DE.UTF-8/UTF-8' }, keyboardLayout: 'de', keyboardVConsoleKeymap: 'de-latin1',
  };
  const display = await startXvfb();
  let frame: Frame;
  let log: string;
  try {
    const calamares = startCalamares(dir, modules, seed, { jobs: [checkJob()], display: display.name, env: { CALAMARES_SHOW: `notesqml@choices=${conf}` } });
    // The page logs how many lines it shows when Calamares activates it (after the check).
    await expect.poll(() => calamares.logSoFar(), { timeout: 120_000, interval: 200 }).toMatch(/nixos-offline choices page: \d+ lines/);
    await new Promise((r) => setTimeout(r, 1500));
    frame = await screenshot(display);
    calamares.quit();
    ({ log } = await calamares.done);
  } finally {
    await display.stop();
  }
  expect(failure(log), log).toBeNull();
  expect(log).toContain('nixos-offline choices page: 8 lines');
  // Qt names the QML file and line of anything it warns about in ours.
  expect(log).not.toMatch(/nixos-offline-choices\.qml:\d+/);
  const keep = process.env.NOI_SCREENSHOTS;
  if (keep) {
    await mkdir(keep, { recursive: true });
    await savePng(frame, join(keep, 'choices-page.png'));
  }
  const text = normal((await readText(frame, { x: 0, y: 0, width: frame.width, height: frame.height }, join(dir, 'page'))).join(' '));
  for (const line of [
    'User: alice (declared in the configuration)',
    'Desktop: gnome (the configured one)',
    'Computer name: field-01 (does not apply: the configuration sets own-name, and it wins)',
    'Time zone: Europe/Berlin (does not apply: the configuration sets UTC, and it wins)',
    'Language: de_DE.UTF-8 (applies)',
    'Console keyboard: de-latin1 (applies)',
    'Keyboard layout: de (applies)',
  ]) {
    expect(text, line).toContain(normal(line));
  }
}, 300_000);

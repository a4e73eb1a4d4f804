// A virtual X display (Xvfb) for the windowed tests, screenshots of it
// (ImageMagick's `import`), and reading them: text with Tesseract, a
// progress bar's length from its pixels.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Display {
  name: string;
  stop(): Promise<void>;
}

// Xvfb picks a free display number itself and writes it to the given fd.
export async function startXvfb(width = 1024, height = 768): Promise<Display> {
  const child: ChildProcess = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', `${width}x${height}x24`, '-nolisten', 'tcp', '-noreset'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const number = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdio[3]!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`Xvfb exited with ${code}: ${stderr}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name: `:${number}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Frame {
  width: number;
  height: number;
  // Packed 8-bit RGB, row by row.
  rgb: Buffer;
  // When it was taken (ms since the epoch).
  at: number;
}

// The whole screen as ImageMagick's binary PPM (P6).
export async function screenshot(display: Display): Promise<Frame> {
  const at = Date.now();
  const { stdout } = await run('import', ['-display', display.name, '-window', 'root', '-depth', '8', 'ppm:-'], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  const header = /^P6\s+(?:#.*\s+)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(stdout.subarray(0, 200).toString('latin1'));
  if (!header || header[3] !== '255') throw new Error(`not an 8-bit PPM: ${stdout.subarray(0, 40).toString('latin1')}`);
  const width = Number(header[1]);
  const height = Number(header[2]);
  return { width, height, rgb: stdout.subarray(header[0].length, header[0].length + width * height * 3), at };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

function ppm(frame: Frame, box: Box = { x: 0, y: 0, width: frame.width, height: frame.height }): Buffer {
  const rows: Buffer[] = [Buffer.from(`P6\n${box.width} ${box.height}\n255\n`, 'latin1')];
  for (let y = box.y; y < box.y + box.height; y++) {
    const start = (y * frame.width + box.x) * 3;
    rows.push(frame.rgb.subarray(start, start + box.width * 3));
  }
  return Buffer.concat(rows);
}

export async function savePng(frame: Frame, path: string): Promise<void> {
  const ppmPath = `${path}.ppm`;
  await writeFile(ppmPath, ppm(frame));
  await run('convert', [ppmPath, path]);
  await run('rm', ['-f', ppmPath]);
}

// One line of text in `box`, read by Tesseract from a grey, three times larger copy.
export async function readLine(frame: Frame, box: Box, scratch: string): Promise<string> {
  const ppmPath = `${scratch}.ppm`;
  const pngPath = `${scratch}.png`;
  await writeFile(ppmPath, ppm(frame, box));
  await run('convert', [ppmPath, '-colorspace', 'Gray', '-resize', '300%', pngPath]);
  const { stdout } = await run('tesseract', [pngPath, '-', '--psm', '7', '-l', 'eng'], { encoding: 'utf8' });
  return stdout.trim();
}

// The text in BOX, as lines (Tesseract's page mode: several lines of text).
export async function readText(frame: Frame, box: Box, scratch: string): Promise<string[]> {
  const ppmPath = `${scratch}.ppm`;
  const pngPath = `${scratch}.png`;
  await writeFile(ppmPath, ppm(frame, box));
  await run('convert', [ppmPath, '-colorspace', 'Gray', '-resize', '200%', pngPath]);
  const { stdout } = await run('tesseract', [pngPath, '-', '--psm', '6', '-l', 'eng'], { encoding: 'utf8' });
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
}

function pixel(frame: Frame, x: number, y: number): [number, number, number] {
  const i = (y * frame.width + x) * 3;
  return [frame.rgb[i]!, frame.rgb[i + 1]!, frame.rgb[i + 2]!];
}

// The longest horizontal run of pixels `matches` accepts in each row of `box`, and where.
export function longestRuns(frame: Frame, box: Box, matches: (rgb: [number, number, number]) => boolean): { y: number; x: number; length: number }[] {
  const runs = [];
  for (let y = box.y; y < box.y + box.height; y++) {
    let best = { y, x: 0, length: 0 };
    let start = -1;
    for (let x = box.x; x <= box.x + box.width; x++) {
      const inside = x < box.x + box.width && matches(pixel(frame, x, y));
      if (inside && start < 0) start = x;
      if (!inside && start >= 0) {
        if (x - start > best.length) best = { y, x: start, length: x - start };
        start = -1;
      }
    }
    runs.push(best);
  }
  return runs;
}

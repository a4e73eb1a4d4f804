// 7. A fleet's targets share the seed's link (issue 28, "Scale"): N = 1, 2,
// 4, 8 targets, each in its own network namespace on a switch (a bridge),
// copy the same closure at once from the seed's store into stores of their
// own, empty, as the copy stage does (bench/fleet-copy.mjs: nix copy --from
// ssh-ng://, the fleet's sshd and key; bench/fleet-seed.mjs). The seed's link
// is shaped by tc to LINK_MBIT. Figures: aggregate throughput (the closure's
// NAR bytes times N over the time from the first copy's start to the last
// one's end) against the link rate, and the seed's CPU and anonymous memory
// per target, from the cgroup holding its sshd, nix-daemon --stdio and
// nix-daemon (their increase over the idle seed). Quick: N = 1, 2, a tiny closure.
import { execFileSync, spawn } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { it } from 'vitest';
import { REPO, scratch, testEnv } from '../test/helpers/env.js';
import { emptyStoreCommand, netnsCommand } from '../test/helpers/netns.js';
import { SEED_ADDRESS, SeedCgroup, closureFiles, makeLab, seedSentBytes } from './fleet-lab.js';
import { QUICK, record, type Figure } from './lib.js';

// Fast Ethernet: what this shared 2-core machine can encrypt, send and unpack for 8 targets at once without
// running out of CPU first (a gigabit switch would measure this machine's cores, not the fleet's sharing).
const LINK_MBIT = 100;
const COUNTS = QUICK ? [1, 2] : [1, 2, 4, 8];
// Paths and bytes each: 64 MiB in 16 paths (full), 2 MiB in 2 (quick).
const CLOSURE = QUICK ? { paths: 2, bytes: 2 ** 20 } : { paths: 16, bytes: 4 * 2 ** 20 };
const STORE_PORT = 8571;
const MEMORY_SAMPLE_MS = 100;

interface Copied {
  startedMs: number;
  endedMs: number;
  paths: number;
}

function run(file: string, args: string[]): string {
  return execFileSync(file, args, { env: testEnv(), encoding: 'utf8' }).trim();
}

function exitOf(child: ReturnType<typeof spawn>, what: string): Promise<string> {
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${what} exited with ${code}`)))));
}

async function fleetOf(n: number, dir: string, paths: string[], narBytes: number) {
  const lab = makeLab(n, `${LINK_MBIT}mbit`);
  const cgroup = new SeedCgroup(`noi-bench-fleet-${lab.ns.tag}`);
  const seedDir = join(dir, `seed-${n}`);
  await mkdir(seedDir, { mode: 0o755 });
  const [file, ...args] = netnsCommand(lab.seed, cgroup.enter([process.execPath, join(REPO, 'bench/fleet-seed.mjs'), seedDir, SEED_ADDRESS, String(STORE_PORT)]));
  const seed = spawn(file!, args, { env: testEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const keys = await new Promise<string>((resolve, reject) => {
      createInterface({ input: seed.stdout! }).once('line', resolve);
      seed.once('exit', (code) => reject(new Error(`the seed exited with ${code}`)));
    });
    const storeFile = join(dir, `store-${n}.json`);
    await writeFile(storeFile, JSON.stringify({ host: SEED_ADDRESS, port: STORE_PORT, ...JSON.parse(keys) }));
    // The idle seed: what the targets add is measured against it.
    await new Promise((r) => setTimeout(r, 1000));
    const idleCpu = cgroup.cpuSeconds();
    const idleMemory = cgroup.anonBytes();
    const sentBefore = seedSentBytes(lab);
    let peakMemory = idleMemory;
    const sampler = setInterval(() => (peakMemory = Math.max(peakMemory, cgroup.anonBytes())), MEMORY_SAMPLE_MS);
    const copies = lab.targets.map(async (target, i) => {
      const work = join(dir, `target-${n}-${i}`);
      await mkdir(join(work, 'root'), { recursive: true, mode: 0o700 });
      const [f, ...a] = netnsCommand(target, emptyStoreCommand([process.execPath, join(REPO, 'bench/fleet-copy.mjs'), storeFile, work, join(work, 'root'), ...paths]));
      return JSON.parse(await exitOf(spawn(f!, a, { env: testEnv(), stdio: ['ignore', 'pipe', 'inherit'] }), `target ${i + 1}'s copy`)) as Copied;
    });
    const copied = await Promise.all(copies);
    clearInterval(sampler);
    const cpu = cgroup.cpuSeconds() - idleCpu;
    const sent = seedSentBytes(lab) - sentBefore;
    const wallS = (Math.max(...copied.map((c) => c.endedMs)) - Math.min(...copied.map((c) => c.startedMs))) / 1000;
    if (copied.some((c) => c.paths !== paths.length)) throw new Error(`a target copied ${copied.map((c) => c.paths).join(', ')} paths, not ${paths.length}`);
    return { wallS, mbit: (n * narBytes * 8) / wallS / 1e6, cpuPerTarget: cpu / n, memoryPerTargetMB: (peakMemory - idleMemory) / n / 2 ** 20, sentRatio: sent / (n * narBytes), each: copied.map((c) => (c.endedMs - c.startedMs) / 1000) };
  } finally {
    seed.stdin!.end();
    const killer = setTimeout(() => seed.kill('SIGKILL'), 10_000);
    await new Promise((r) => (seed.exitCode === null && seed.signalCode === null ? seed.once('exit', r) : r(null)));
    clearTimeout(killer);
    await cgroup.remove();
    lab.ns.remove();
    for (let i = 0; i < n; i++) await rm(join(dir, `target-${n}-${i}`), { recursive: true, force: true });
  }
}

it('N targets copying from the seed over ssh-ng share its link', async () => {
  const dir = await scratch('bench-fleet');
  try {
    // The same bytes at each run, so the same store paths (no new garbage in /nix/store each time).
    const paths = closureFiles(join(dir, 'closure'), CLOSURE.paths, CLOSURE.bytes).map((p) => run('nix-store', ['--add', p]));
    const narBytes = paths.map((p) => Number(run('nix-store', ['--query', '--size', p]))).reduce((a, b) => a + b, 0);
    const figures: Figure[] = [];
    const notes = [`link: tc tbf ${LINK_MBIT} Mbit/s on the seed's veth into a bridge; closure: ${paths.length} paths, ${(narBytes / 1e6).toFixed(1)} MB (NAR), incompressible`];
    for (const n of COUNTS) {
      const r = await fleetOf(n, dir, paths, narBytes);
      const share = (r.mbit / LINK_MBIT) * 100;
      figures.push(
        { name: `${n} target${n > 1 ? 's' : ''}: aggregate copy throughput / link`, value: share, unit: '%', baseline: r.mbit, baselineLabel: 'Mbit/s of NAR', goal: '>= 80', met: share >= 80 },
        { name: `${n} target${n > 1 ? 's' : ''}: seed CPU per target`, value: r.cpuPerTarget, unit: 'CPU s', baseline: r.wallS, baselineLabel: 'copy s', goal: '(context)', met: null },
        { name: `${n} target${n > 1 ? 's' : ''}: seed memory per target`, value: r.memoryPerTargetMB, unit: 'MB', baseline: null, baselineLabel: null, goal: '(context)', met: null },
      );
      notes.push(`${n}: ${r.wallS.toFixed(1)} s, each ${r.each.map((s) => s.toFixed(1)).join(', ')} s; the seed sent ${r.sentRatio.toFixed(3)} x the NAR bytes`);
    }
    record('fleet', "Fleet targets sharing the seed's link (ssh-ng)", figures, notes);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

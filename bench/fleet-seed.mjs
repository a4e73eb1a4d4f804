// Run by fleet.bench.ts in the seed's network namespace, inside the cgroup
// that accounts the seed's CPU and memory: the seed's store as `fleet serve`
// serves it (src/fleet/sshd.ts's startSshd with the store unit's properties,
// as the daemon's confined child), in front of a nix-daemon of its own (as
// scripts/eval-user-nix-daemon.sh starts one) so its connection workers are
// counted too. Prints {targetKey, hostKey} as JSON; stops when stdin closes.
//
//   node fleet-seed.mjs DIR ADDRESS PORT
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const [dir, address, port] = process.argv.slice(2);
process.env.NIX_DAEMON_SOCKET_PATH = join(dir, 'daemon.sock');
const daemon = spawn('nix-daemon', [], {
  env: { ...process.env, NIX_CONFIG: 'build-users-group =\nsandbox = false\nsubstituters =\nstore = local' },
  stdio: ['ignore', 'ignore', 'pipe'],
});
// nix-daemon says each connection it accepts; only the rest is worth the benchmark's output.
daemon.stderr.on('data', (chunk) => {
  const lines = chunk.toString().split('\n').filter((l) => l && !l.startsWith('accepted connection'));
  if (lines.length > 0) process.stderr.write(`${lines.map((l) => `[nix-daemon] ${l}`).join('\n')}\n`);
});
for (let i = 0; i < 100 && !existsSync(process.env.NIX_DAEMON_SOCKET_PATH); i++) await new Promise((r) => setTimeout(r, 100));
if (!existsSync(process.env.NIX_DAEMON_SOCKET_PATH)) throw new Error('the seed\'s nix-daemon did not start');

const { startSshd, storeUser } = await import('../dist/fleet/sshd.js');
const { storeUnit } = await import('../dist/fleet/fleet-units.js');
const controller = new AbortController();
const sshd = await startSshd({
  dir: join(dir, 'ssh'),
  address,
  port: Number(port),
  user: await storeUser(),
  mode: 'direct',
  properties: storeUnit({ address, prefix: 24 }, dir),
  signal: controller.signal,
  // sshd -e logs every connection; only its complaints are worth the benchmark's output.
  log: (line) => /error|fatal|refused|denied/i.test(line) && process.stderr.write(`[sshd] ${line}\n`),
});
process.stdout.write(`${JSON.stringify({ targetKey: sshd.targetKey, hostKey: sshd.hostKey })}\n`);
process.stdin.resume();
process.stdin.on('end', async () => {
  controller.abort();
  daemon.kill('SIGTERM');
  await sshd.exited;
  process.exit(0);
});

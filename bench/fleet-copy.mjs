// Run by fleet.bench.ts for each target, in its network namespace and in a
// private mount namespace whose /nix is empty (a netbooted target's): the
// target's copy stage's own call (dist/nix/ssh-ng.js copyFromSeed: nix copy
// --from ssh-ng://root@seed into a store under ROOT, NIX_SSHOPTS with the
// fleet's key and host key). Prints {startedMs, endedMs, paths} as JSON.
//
//   node fleet-copy.mjs STORE-JSON WORK ROOT PATH...
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { copyFromSeed, knownHostsLine } from '../dist/nix/ssh-ng.js';

const [storeFile, work, root, ...paths] = process.argv.slice(2);
const store = JSON.parse(readFileSync(storeFile, 'utf8'));
writeFileSync(join(work, 'key'), store.targetKey, { mode: 0o600 });
writeFileSync(join(work, 'known_hosts'), knownHostsLine(store, store.hostKey));
const lines = [];
const say = (source, line) => lines.push(`[${source}] ${line}`);
const ctx = { signal: new AbortController().signal, log: say, output: say, recentLines: (_source, count) => lines.slice(-count) };
const seed = { host: store.host, port: store.port, keyFile: join(work, 'key'), knownHostsFile: join(work, 'known_hosts'), controlPath: join(work, 'ssh-connection') };
let finished = 0;
const startedMs = Date.now();
try {
  await copyFromSeed(ctx, seed, root, paths, { started: () => {}, finished: () => finished++ });
} catch (error) {
  process.stderr.write(`${lines.slice(-20).join('\n')}\n${error.title ?? ''}\n${error.description ?? error}\n`);
  process.exit(1);
}
process.stdout.write(`${JSON.stringify({ startedMs, endedMs: Date.now(), paths: finished })}\n`);

// 4. Pipeline overhead: the whole install through the daemon and CLI, against
// the same external commands run one after another by a plain shell script
// (baseline, same run, same closure): copy the folder, nixos-generate-config,
// nix-build, nix copy, nixos-install. Ratio of medians over 6 runs each.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'vitest';
import { runCli } from '../test/helpers/cli.js';
import { writeConfig } from '../test/helpers/config.js';
import { startDaemon } from '../test/helpers/daemon.js';
import { NIXOS_EXPR, scratch, testEnv } from '../test/helpers/env.js';
import { QUICK, median, record, timed } from './lib.js';

const SCRIPT = `set -euo pipefail
src=$1 root=$2 expr=$3
mkdir -p "$root/etc"
cp -a "$src" "$root/etc/nixos"
nixos-generate-config --root "$root" 2>/dev/null
toplevel=$(nix-build "$expr" -A system -I nixos-config="$root/etc/nixos/configuration.nix" --no-out-link --option substituters '' 2>/dev/null)
nix copy --no-check-sigs --to "$root" "$toplevel" --extra-experimental-features nix-command --option substituters ''
nixos-install --root "$root" --system "$toplevel" --no-root-passwd --no-channel-copy --option substituters '' >/dev/null
`;

it('pipeline overhead', async () => {
  const dir = await scratch('bench-overhead');
  const size = QUICK ? 20e6 : 1e9;
  const tag = randomBytes(3).toString('hex');
  const source = await writeConfig(join(dir, 'cfg'), { hostName: `bench-overhead-${tag}`, payloads: {}, randomPayloads: { [`a${tag}`]: size * 0.7, [`b${tag}`]: size * 0.3 } });
  const daemon = await startDaemon({ dir, configDirs: [source] });
  const daemonTimes: number[] = [];
  const shellTimes: number[] = [];
  try {
    const fresh = async (name: string) => {
      const root = join(dir, name);
      await rm(root, { recursive: true, force: true });
      await mkdir(root, { mode: 0o755 });
      return root;
    };
    // Warm-up: builds the closure once, so every timed run copies the same, already built system.
    await runCli(['install', '--socket', daemon.socket, '--root', await fresh('warm'), '--allow-unmounted', '--json']);
    await rm(join(dir, 'warm'), { recursive: true, force: true });
    // Each timed run starts with the previous one's root removed and its writes
    // synced, and the order alternates: otherwise the second of a pair always
    // pays for the first one's writeback.
    const settle = async (root: string) => {
      await rm(root, { recursive: true, force: true });
      execFileSync('sync');
    };
    const viaDaemon = async (run: number) => {
      const root = await fresh(`daemon-${run}`);
      daemonTimes.push(
        await timed(async () => {
          const result = await runCli(['install', '--socket', daemon.socket, '--root', root, '--allow-unmounted', '--json']);
          if (result.code !== 0) throw new Error(result.stdout);
        }),
      );
      await settle(root);
    };
    const viaShell = async (run: number) => {
      const root = await fresh(`shell-${run}`);
      shellTimes.push(await timed(async () => execFileSync('unshare', ['--net', '--', 'bash', '-c', SCRIPT, 'install', source, root, NIXOS_EXPR], { env: testEnv() })));
      await settle(root);
    };
    execFileSync('sync');
    for (let run = 0; run < (QUICK ? 1 : 6); run++) {
      if (run % 2 === 0) {
        await viaDaemon(run);
        await viaShell(run);
      } else {
        await viaShell(run);
        await viaDaemon(run);
      }
    }
    const ratio = median(daemonTimes) / median(shellTimes);
    record('overhead', 'Pipeline overhead', [
      { name: 'daemon + CLI / plain shell script (median times)', value: ratio, unit: '×', baseline: median(shellTimes), baselineLabel: 'shell ms', goal: '<= 1.02', met: ratio <= 1.02 },
    ], [`${(size / 1e6).toFixed(0)} MB closure; daemon ${daemonTimes.map((t) => t.toFixed(0)).join(', ')} ms; shell ${shellTimes.map((t) => t.toFixed(0)).join(', ')} ms`]);
  } finally {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

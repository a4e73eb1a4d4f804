// The stand-in tools (test/stand-ins) against what the real ones' source does
// (nixpkgs: nixos-generate-config.pl, nixos-install.sh, nixos-enter.sh), on
// real file systems: mounts are made in a private mount namespace (unshare),
// so nothing is left mounted on the machine, and /proc/swaps is bind-mounted
// over there to list swap without turning any on.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAND_INS, scratch } from '../helpers/env.js';

const GENERATE = join(STAND_INS, 'nixos-generate-config');

let dir: string;
beforeAll(async () => (dir = await scratch('stand-in-tools')));
afterAll(() => rm(dir, { recursive: true, force: true }));

// In a test bed's chroot / is no mount point (unshare cannot make it private: EINVAL),
// and bed-chroot.sh's own namespace already made every mount private (as scripts/iso-store.sh).
const PROPAGATION = spawnSync('mountpoint', ['-q', '/']).status === 0 ? 'private' : 'unchanged';

// SCRIPT runs as root in a mount namespace of its own; $ROOT is the target root.
function inNamespace(root: string, script: string): string {
  return execFileSync('unshare', ['--mount', '--propagation', PROPAGATION, 'bash', '-euc', script], {
    env: { ...process.env, ROOT: root, GENERATE },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

describe('the nixos-generate-config stand-in', () => {
  it('declares what is mounted under --root (a loop device by its backing file, a bind mount, not /tmp on tmpfs) and the swap partitions of /proc/swaps', async () => {
    const image = join(dir, 'root.img');
    const root = join(dir, 'target');
    await mkdir(root);
    execFileSync('truncate', ['-s', '64M', image]);
    execFileSync('mkfs.ext4', ['-q', image]);
    const swaps = join(dir, 'swaps');
    const output = inNamespace(
      root,
      `mount -o loop ${image} "$ROOT"
      mkdir -p "$ROOT/data" "$ROOT/srv" "$ROOT/tmp"
      mount -t tmpfs data "$ROOT/data"
      mount --bind "$ROOT/data" "$ROOT/srv"
      mount -t tmpfs tmp "$ROOT/tmp"
      loop=$(findmnt -n -o SOURCE "$ROOT")
      # A swap partition (the loop device will do: it exists), a swap file and zram, as /proc/swaps lists them.
      printf 'Filename\\t\\t\\t\\tType\\t\\tSize\\t\\tUsed\\t\\tPriority\\n%s partition 1024 0 -2\\n%s file 1024 0 -3\\n/dev/zram0 partition 1024 0 100\\n' "$loop" "${image}" > ${swaps}
      mount --bind ${swaps} /proc/swaps
      echo "loop=$loop"
      "$GENERATE" --show-hardware-config --root "$ROOT/"
      echo "--- no file systems"
      "$GENERATE" --show-hardware-config --no-filesystems --root "$ROOT"`,
    );
    const loop = /^loop=(\S+)$/m.exec(output)![1]!;
    const [withFs, withoutFs] = output.split('--- no file systems\n') as [string, string];
    expect(withFs).toContain(`  fileSystems."/" =\n    { device = "${image}";\n      fsType = "ext4";\n      options = [ "loop" ];\n    };\n`);
    expect(withFs).toContain('  fileSystems."/data" =\n    { device = "data";\n      fsType = "tmpfs";\n    };\n');
    expect(withFs).toContain('  fileSystems."/srv" =\n    { device = "/data";\n      fsType = "none";\n      options = [ "bind" ];\n    };\n');
    expect(withFs).not.toContain('fileSystems."/tmp"');
    // Only what is under the root: none of this machine's own mounts.
    expect(withFs.match(/fileSystems\."/g)).toHaveLength(3);
    expect(withFs).toContain(`  swapDevices =\n    [ { device = "${loop}"; }\n    ];\n`);
    expect(withoutFs).not.toContain('fileSystems');
    expect(withoutFs).not.toContain('swapDevices');
    expect(withoutFs).toContain('boot.initrd.availableKernelModules');
  });

  it('exits 255 with the real messages for a missing argument or an unknown one, and writes where --root and --dir say', async () => {
    for (const [args, message] of [
      [['--dir'], '‘--dir’ requires an argument'],
      [['--root'], '‘--root’ requires an argument'],
      [['--frobnicate'], 'unrecognized argument ‘--frobnicate’'],
    ] as const) {
      const run = spawnSync(GENERATE, [...args], { encoding: 'utf8' });
      expect(run.status, args.join(' ')).toBe(255);
      expect(run.stderr).toContain(message);
    }
    const root = join(dir, 'write');
    await mkdir(join(root, 'cfg'), { recursive: true });
    await writeFile(join(root, 'cfg/configuration.nix'), '# mine\n');
    const run = spawnSync(GENERATE, ['--root', root, '--dir', '/cfg'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stderr).toContain(`writing ${root}/cfg/hardware-configuration.nix...`);
    expect(run.stderr).toContain(`warning: not overwriting existing ${root}/cfg/configuration.nix`);
    expect(await readFile(join(root, 'cfg/configuration.nix'), 'utf8')).toBe('# mine\n');
  });
});

// What the scripts run inside scripts/iso-store.sh (medium-copy.mjs,
// copy-time-left-run.mjs) share: the medium mounted afresh, and the job context
// the product's copy phase is run with.
import { execFileSync } from 'node:child_process';

export const run = (file, args) => execFileSync(file, args, { stdio: ['ignore', 'ignore', 'inherit'] });

// IMAGE mounted afresh as the ISO's /nix/.ro-store under its /nix/store overlay, so a timed copy finds
// none of an earlier one's decompressed pages in the cache.
// READ_AHEAD_KB: the loop device's read-ahead, where a bench sets it (the kernel's default otherwise).
export function freshMedium(image, readAheadKb = null) {
  run('sync', []);
  run('umount', ['/nix/store']);
  run('umount', ['/nix/.ro-store']);
  run('mount', ['-t', 'squashfs', '-o', 'loop,ro', image, '/nix/.ro-store']);
  if (readAheadKb !== null) {
    const loop = execFileSync('findmnt', ['-no', 'SOURCE', '/nix/.ro-store'], { encoding: 'utf8' }).trim();
    execFileSync('bash', ['-c', `echo ${readAheadKb} >/sys/block/${loop.replace('/dev/', '')}/queue/read_ahead_kb`]);
  }
  run('mount', ['-t', 'overlay', 'overlay', '-o', 'lowerdir=/nix/.ro-store,upperdir=/nix/.rw-store/store,workdir=/nix/.rw-store/work', '/nix/store']);
}

// A job context for copyClosure into ROOT that says nothing, but for the hooks given (output, progress).
export function benchJobContext(root, hooks = {}) {
  return {
    installId: 'bench',
    root,
    signal: new AbortController().signal,
    settings: { configDirs: [], nixosExpr: '', nixpkgs: null, channelProfile: '', manifest: null, socketGid: 0 },
    log: () => undefined,
    output: () => undefined,
    recentLines: () => [],
    phase: () => undefined,
    progress: () => undefined,
    ...hooks,
  };
}

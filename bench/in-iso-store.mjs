// What the scripts run inside scripts/iso-store.sh (medium-copy.mjs,
// copy-time-left-run.mjs) share: the medium mounted afresh, and the job context
// the product's copy phase is run with.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export const run = (file, args) => execFileSync(file, args, { stdio: ['ignore', 'ignore', 'inherit'] });

// IMAGE mounted afresh as the ISO's /nix/.ro-store under its /nix/store overlay, so a timed copy finds
// none of an earlier one's decompressed pages in the cache.
// READ_AHEAD_KB: the loop device's read-ahead, where a bench sets it (the kernel's default otherwise).
// STICK: where IMAGE is nix-store.squashfs on a file system image, as on the ISO's /iso; mounted afresh at
// STICK.mountPoint, its file's pages dropped too, and the device under it counting its reads as a stick's does.
export function freshMedium(image, readAheadKb = null, stick = null) {
  run('sync', []);
  run('umount', ['/nix/store']);
  run('umount', ['/nix/.ro-store']);
  if (stick) {
    if (mounted(stick.mountPoint)) run('umount', [stick.mountPoint]);
    run('mount', ['-o', 'loop,ro', stick.image, stick.mountPoint]);
    setReadAhead(stick.mountPoint, readAheadKb);
  }
  run('mount', ['-t', 'squashfs', '-o', 'loop,ro', stick ? join(stick.mountPoint, 'nix-store.squashfs') : image, '/nix/.ro-store']);
  setReadAhead('/nix/.ro-store', readAheadKb);
  run('mount', ['-t', 'overlay', 'overlay', '-o', 'lowerdir=/nix/.ro-store,upperdir=/nix/.rw-store/store,workdir=/nix/.rw-store/work', '/nix/store']);
}

function mounted(mountPoint) {
  try {
    execFileSync('mountpoint', ['-q', mountPoint]);
    return true;
  } catch {
    return false;
  }
}

function setReadAhead(mountPoint, readAheadKb) {
  if (readAheadKb === null) return;
  const loop = execFileSync('findmnt', ['-no', 'SOURCE', mountPoint], { encoding: 'utf8' }).trim();
  execFileSync('bash', ['-c', `echo ${readAheadKb} >/sys/block/${loop.replace('/dev/', '')}/queue/read_ahead_kb`]);
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

// Who evaluates a configuration. Evaluating runs the configuration's own code
// (any `builtins.readFile`, `import`, `throw`), so it runs as an unprivileged
// eval user, not as root: that user cannot read root-only files even where
// restrict-eval would allow the path, and the .drv files are written by
// nix-daemon (NIX_REMOTE=daemon), never by the evaluating process itself.
// Realising .drv files already written, copying and nixos-install stay root.
//
// One eval user for the daemon's whole life, set once at start (the daemon's
// --eval-user); the Nix commands below consult it, so no caller can forget it.
import { lstat, mkdir, chmod, chown } from 'node:fs/promises';
import { join } from 'node:path';

export interface EvalUser {
  name: string;
  uid: number;
  gid: number;
  // Its private HOME (Nix keeps its fetcher and evaluation caches there), owned by it, 0700.
  home: string;
}

let current: EvalUser | null = null;

export function setEvalUser(user: EvalUser | null): void {
  current = user;
}

// Null: evaluation runs as root, with restrict-eval only (a developer's daemon started by hand).
export function evalUser(): EvalUser | null {
  return current;
}

// The evaluating child's environment: its own HOME and XDG folders (root's are
// not readable to it, and must not receive its caches), and nix-daemon as the
// store, so the .drv files are written by the daemon. NIX_CONFIG and
// NIX_DAEMON_SOCKET_PATH pass through from the daemon's environment.
export function evalUserEnv(user: EvalUser): Record<string, string> {
  return {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    XDG_CACHE_HOME: join(user.home, '.cache'),
    XDG_CONFIG_HOME: join(user.home, '.config'),
    XDG_DATA_HOME: join(user.home, '.local/share'),
    XDG_STATE_HOME: join(user.home, '.local/state'),
    NIX_REMOTE: 'daemon',
  };
}

// Makes HOME the eval user's own folder (0700), under a parent only root can
// change, so the user cannot swap it for a link. A link or a non-folder there is refused.
export async function prepareEvalHome(user: EvalUser): Promise<void> {
  const parent = join(user.home, '..');
  await mkdir(parent, { recursive: true, mode: 0o755 });
  const above = await lstat(parent);
  if (!above.isDirectory() || above.uid !== 0 || (above.mode & 0o022) !== 0) {
    throw new Error(`${parent} (the folder the eval user's home ${user.home} is in) must be a folder owned by root and writable by root only`);
  }
  await mkdir(user.home, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  const info = await lstat(user.home);
  if (!info.isDirectory()) throw new Error(`${user.home} (the eval user's home) is not a folder; remove it, the daemon makes it`);
  if (info.uid !== user.uid || info.gid !== user.gid) await chown(user.home, user.uid, user.gid);
  if ((info.mode & 0o7777) !== 0o700) await chmod(user.home, 0o700);
}

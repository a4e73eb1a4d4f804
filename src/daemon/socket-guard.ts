// Makes the sockets safe to serve: refuses to take over the socket of a live
// daemon (node-ipc unlinks whatever socket is at the path), checks the folder
// they live in (root's, nobody else may change it, the socket group may enter
// it), and creates each socket with its final mode and owner with no moment
// when anyone else could connect. Links are never followed on the way.
import { constants } from 'node:fs';
import { lchown, lstat, mkdir, open } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';

export class SocketInUse extends Error {}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ path });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function checkNoLiveDaemon(path: string): Promise<void> {
  const info = await lstat(path).catch(() => null);
  if (!info) return;
  if (!info.isSocket()) throw new SocketInUse(`${path} exists and is not a socket; remove it or choose another --socket path`);
  if (await answers(path)) throw new SocketInUse(`another daemon is already listening on ${path}; stop it first (systemctl stop nixos-offline-installer)`);
}

// The socket's folder: created 0750 when missing; an existing one (systemd's
// RuntimeDirectory= makes it root:root) must be a real folder of root's that
// nobody else may write to, and gets the socket group so its members can
// reach the socket inside. Changed through a descriptor, never through a link.
export async function prepareSocketDir(path: string, gid: number): Promise<void> {
  const dir = dirname(path);
  if (!(await lstat(dir).catch(() => null))) await mkdir(dir, { recursive: true, mode: 0o750 });
  let handle;
  try {
    handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') throw new SocketInUse(`the socket folder ${dir} is a link or not a folder; remove it (the daemon makes it) or choose another --socket path`);
    throw error;
  }
  try {
    const info = await handle.stat();
    if (info.uid !== 0) throw new SocketInUse(`the socket folder ${dir} is owned by uid ${info.uid}, not root, so its owner could replace the socket; remove it (the daemon makes it) or choose another --socket path`);
    if ((info.mode & 0o022) !== 0) throw new SocketInUse(`the socket folder ${dir} is writable by ${(info.mode & 0o002) !== 0 ? 'everyone' : 'its group'} (mode ${(info.mode & 0o7777).toString(8)}), so others could replace the socket; use a folder only root may write to`);
    if (info.gid !== gid) await handle.chown(0, gid);
    // The group must be able to enter it to reach the socket.
    if ((info.mode & 0o010) === 0) await handle.chmod((info.mode & 0o7777) | 0o050);
  } finally {
    await handle.close();
  }
}

// Runs listen() under UMASK (0117: the socket is born 0660; 0177: 0600), then
// gives the socket itself (lchown: a link there is not followed) to UID:GID
// before the daemon says it is ready.
export async function listenRestricted(listen: () => Promise<void>, path: string, uid: number, gid: number, umask = 0o117): Promise<void> {
  const previous = process.umask(umask);
  try {
    await listen();
  } finally {
    process.umask(previous);
  }
  const info = await lstat(path);
  if (!info.isSocket()) throw new SocketInUse(`${path} is not the daemon's socket after listening; something replaced it`);
  await lchown(path, uid, gid);
}

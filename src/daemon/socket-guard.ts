// Makes the socket safe to serve: refuses to take over the socket of a live
// daemon (node-ipc unlinks whatever socket is at the path), and creates it as
// 0660 root:<group> with no moment when anyone else could connect.
import { chown, lstat, mkdir } from 'node:fs/promises';
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

// Creates the socket's folder when missing: 0750, root and the socket group only.
export async function prepareSocketDir(path: string, gid: number): Promise<void> {
  const dir = dirname(path);
  const exists = await lstat(dir).catch(() => null);
  if (exists) return;
  await mkdir(dir, { recursive: true, mode: 0o750 });
  await chown(dir, 0, gid).catch(() => undefined);
}

// Runs listen() under umask 0117 so the socket is born 0660 owned by our own
// group; the chown to the socket group happens before the daemon says it is ready.
export async function listenRestricted(listen: () => Promise<void>, path: string, gid: number): Promise<void> {
  const previous = process.umask(0o117);
  try {
    await listen();
  } finally {
    process.umask(previous);
  }
  await chown(path, process.getuid?.() ?? 0, gid);
}

// Copies a scanned configuration folder into a new folder on the target, entry
// by entry through descriptors: each source entry is opened without following
// links and must be the very inode the scan saw (a file swapped for a link
// mid-copy is noticed, never read through), and each copy is created fresh
// beneath the staging folder (kept 0700 by the caller until it is complete).
// The copy belongs to root: files 0644, or 0600 when the source was not
// world-readable (executables keep their x bits), folders 0755, links as
// they are, no setuid, setgid or sticky bits.
import type { Beneath } from '../fs/beneath.js';
import type { SourceEntry, SourceScan } from './scan-source.js';

// Files of one folder copied at once: enough to keep the disk busy with small files.
const PARALLEL_FILES = 16;

// The folder changed since the scan: the caller scans and copies again.
export class SourceChanged extends Error {}

export function stagedFileMode(sourceMode: number): number {
  const readable = (sourceMode & 0o004) !== 0 ? 0o644 : 0o600;
  return (sourceMode & 0o111) !== 0 ? readable | (readable >> 2) : readable;
}

function sameInode(info: { dev: number | bigint; ino: number | bigint }, entry: SourceEntry): boolean {
  return BigInt(info.dev) === entry.dev && BigInt(info.ino) === entry.ino;
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

async function copyFile(from: Beneath, to: Beneath, entry: SourceEntry): Promise<void> {
  const name = baseName(entry.path);
  const source = await from.openFile(name).catch(() => {
    throw new SourceChanged(`${entry.path} is no longer a regular file`);
  });
  try {
    const info = await source.stat({ bigint: true });
    if (!sameInode(info, entry)) throw new SourceChanged(`${entry.path} was replaced`);
    const copy = await to.copyInto(source, name, 0o600);
    try {
      await copy.chown(0, 0);
      await copy.chmod(stagedFileMode(Number(info.mode & 0o7777n)));
      await copy.utimes(new Date(Number(info.atimeNs / 1_000_000n)), new Date(Number(info.mtimeNs / 1_000_000n)));
    } finally {
      await copy.close();
    }
  } finally {
    await source.close();
  }
}

async function copyLink(from: Beneath, to: Beneath, entry: SourceEntry): Promise<void> {
  const name = baseName(entry.path);
  const target = await from.readlink(name).catch(() => null);
  if (target !== entry.target) throw new SourceChanged(`${entry.path} changed`);
  await to.symlink(target, name);
}

// Copies the entries under REL (whose folders FROM and TO are open), folder by folder.
async function copyFolder(from: Beneath, to: Beneath, rel: string, children: Map<string, SourceEntry[]>): Promise<void> {
  const entries = children.get(rel) ?? [];
  const files = entries.filter((e) => e.kind === 'file');
  for (let i = 0; i < files.length; i += PARALLEL_FILES) {
    await Promise.all(files.slice(i, i + PARALLEL_FILES).map((e) => copyFile(from, to, e)));
  }
  for (const entry of entries) {
    if (entry.kind === 'symlink') await copyLink(from, to, entry);
    if (entry.kind !== 'dir') continue;
    const name = baseName(entry.path);
    const subFrom = await from.dir(name).catch(() => {
      throw new SourceChanged(`${entry.path} is no longer a folder`);
    });
    try {
      if (!sameInode(await subFrom.stat(), entry)) throw new SourceChanged(`${entry.path} was replaced`);
      await to.mkdir(name, 0o700);
      const subTo = await to.dir(name);
      try {
        await copyFolder(subFrom, subTo, entry.path, children);
        // Only the staging folder itself stays closed until the end.
        await subTo.chmod(0o755);
      } finally {
        await subTo.close();
      }
    } finally {
      await subFrom.close();
    }
  }
}

export async function copySnapshot(from: Beneath, to: Beneath, scan: SourceScan): Promise<void> {
  const children = new Map<string, SourceEntry[]>();
  for (const entry of scan.entries) {
    const parent = entry.path.includes('/') ? entry.path.slice(0, entry.path.lastIndexOf('/')) : '';
    const list = children.get(parent) ?? [];
    list.push(entry);
    children.set(parent, list);
  }
  await copyFolder(from, to, '', children);
}

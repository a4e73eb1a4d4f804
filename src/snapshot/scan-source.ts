// Walks a configuration folder without following links, refusing what cannot be
// copied faithfully to the target, and fingerprints every entry so the stage
// stage can tell whether the folder changed while it was being copied.
import { readlinkSync } from 'node:fs';
import { lstat, readlink } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { InstallError } from '../common/install-error.js';
import { lstatEntries } from '../fs/sync-batches.js';

export interface SourceEntry {
  path: string; // relative to the folder, '/'-separated
  kind: 'dir' | 'file' | 'symlink';
  size: number;
  // Permission bits as found (the copy decides its own from them).
  mode: number;
  // Which inode this was: the copy opens each entry again and must find the same one.
  dev: bigint;
  ino: bigint;
  // A link's text.
  target?: string;
  // Inode, size, mtime and ctime: any write to the entry changes it (a kept copy of an entry with the same stamp is current).
  stamp: string;
  ctimeNs: bigint;
}

export interface SourceScan {
  entries: SourceEntry[];
  bytes: number;
  // ino, size, mtime and ctime of every entry: any write changes it.
  fingerprint: string;
}

// Links followed in a row before a path counts as a loop (the kernel's own limit).
const MAX_LINK_HOPS = 40;

// Where the link at LINK (relative to ROOT) leads, resolved the way the kernel
// would, link by link (`d2 -> d1/..` with `d1 -> .` leaves the folder although
// its text does not): 'inside', 'outside' or 'loop'. A part that does not
// exist ends the resolution where it is: nothing further can be a link.
export async function linkDestination(root: string, link: string): Promise<'inside' | 'outside' | 'loop'> {
  let hops = 0;
  const walk = async (at: string[], text: string): Promise<string[] | 'outside' | 'loop'> => {
    if (isAbsolute(text)) return 'outside';
    let here = [...at];
    for (const part of text.split('/')) {
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (here.length === 0) return 'outside';
        here.pop();
        continue;
      }
      here.push(part);
      const info = await lstat(join(root, ...here)).catch(() => null);
      if (!info?.isSymbolicLink()) continue;
      if (++hops > MAX_LINK_HOPS) return 'loop';
      const next = await walk(here.slice(0, -1), await readlink(join(root, ...here)));
      if (typeof next === 'string') return next;
      here = next;
    }
    return here;
  };
  const parts = link.split('/');
  const result = await walk(parts.slice(0, -1), await readlink(join(root, link)));
  return typeof result === 'string' ? result : 'inside';
}

// When the entry a stamp describes last changed (its ctime, the stamp's last field).
export function stampChangedAtNs(stamp: string): bigint {
  return BigInt(stamp.slice(stamp.lastIndexOf('\0') + 1));
}

export async function scanSource(dir: string): Promise<SourceScan> {
  const entries: SourceEntry[] = [];
  const prints: string[] = [];
  const refused: string[] = [];
  const links: SourceEntry[] = [];
  let bytes = 0;

  async function walk(abs: string, rel: string): Promise<void> {
    // A folder's entries are examined in synchronous batches (src/fs/sync-batches.ts), then taken in order.
    const { names, infos } = await lstatEntries(abs);
    for (const [index, name] of names.entries()) {
      const childAbs = join(abs, name);
      const childRel = rel ? `${rel}/${name}` : name;
      const info = infos[index]!;
      const mode = Number(info.mode & 0o7777n);
      const stamp = `${info.dev}\0${info.ino}\0${info.size}\0${info.mtimeNs}\0${info.ctimeNs}`;
      const base = { path: childRel, mode, dev: info.dev, ino: info.ino, stamp, ctimeNs: info.ctimeNs };
      prints.push(`${childRel}\0${stamp}`);
      if (info.isSymbolicLink()) {
        const entry: SourceEntry = { ...base, kind: 'symlink', size: 0, target: readlinkSync(childAbs) };
        entries.push(entry);
        links.push(entry);
      } else if (info.isDirectory()) {
        entries.push({ ...base, kind: 'dir', size: 0 });
        await walk(childAbs, childRel);
      } else if (info.isFile()) {
        entries.push({ ...base, kind: 'file', size: Number(info.size) });
        bytes += Number(info.size);
      } else {
        refused.push(`${join(dir, childRel)} (a device, socket or pipe, not a file)`);
      }
    }
  }

  const top = await lstat(dir).catch(() => null);
  if (!top || !top.isDirectory()) {
    throw new InstallError('config-missing', `Configuration folder ${dir} is gone`, `${dir} disappeared before it could be copied. Put the configuration folder back and start the install again.`);
  }
  await walk(dir, '');
  // Once the whole tree is known: a link may lead through others.
  for (const link of links) {
    const where = await linkDestination(dir, link.path).catch(() => 'outside' as const);
    // Absolute targets would point elsewhere once the folder is /etc/nixos on the target.
    if (where === 'outside') refused.push(`${join(dir, link.path)} -> ${link.target} (points outside ${dir})`);
    else if (where === 'loop') refused.push(`${join(dir, link.path)} -> ${link.target} (a loop of links)`);
  }
  if (refused.length > 0) {
    throw new InstallError(
      'config-unsafe-entries',
      `The configuration folder ${dir} has entries that cannot be copied`,
      `These would not work on the installed system:\n${refused.map((r) => `  ${r}`).join('\n')}\n` +
        `Replace each link with the file it points to (cp --dereference), or make it a relative link to a file inside ${dir}, and remove pipes, sockets and devices.`,
    );
  }
  return { entries, bytes, fingerprint: prints.join('\n') };
}

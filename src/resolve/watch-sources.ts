// Watches the configuration folders (one may appear after the daemon starts,
// e.g. a technician copying /tmp/nix-cfg) and reports when the active source or
// its files change. Their parents are watched for the configured names only.
// Bounded whatever is dropped there: links are not followed
// (a link to /usr/share cost 4 000 watches), the depth is limited, at most
// MAX_WATCHED entries are watched (status says when more are left out), and a
// burst of writes is one notice, at least every MAX_WAIT_MS while it lasts.
import { lstatSync, watch as fsWatch, type FSWatcher as FsWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { chooseSource, type SourceChoice } from './config-sources.js';
import { passOverReason } from './trusted-source.js';

export const WATCH_DEBOUNCE_MS = 200;
// A folder that never stops changing is still checked this often.
export const MAX_WAIT_MS = 2000;
// Deeper than any configuration folder needs (modules/hosts/<host>/<part>.nix is 3).
export const WATCH_DEPTH = 8;
export const MAX_WATCHED = 2000;

export interface SourceSnapshot extends SourceChoice {
  // Set when the folders hold more entries than are watched.
  watchLimited?: string;
}

export class SourceWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private burstStarted = 0;
  private snapshot: SourceSnapshot;
  private readonly seen = new Set<string>();
  private limited = false;
  private readonly parentWatches: FsWatcher[] = [];
  // Folders whose contents chokidar follows now.
  private readonly watched = new Set<string>();

  constructor(
    private readonly dirs: readonly string[],
    private readonly onChange: (snapshot: SourceSnapshot, changedPath: string) => void,
    private readonly socketGid = 0,
  ) {
    this.snapshot = this.read();
  }

  current(): SourceSnapshot {
    // Cheap (a few stat calls) and never stale, even between watch events.
    this.snapshot = this.read();
    return this.snapshot;
  }

  async start(): Promise<void> {
    // Each folder's parent (/tmp) is watched with a plain inotify watch for the
    // configured names only: anyone can rename entries there tens of thousands
    // of times a second, and chokidar keeps state for every entry it sees
    // (such a storm grew the daemon from 76 MB to 1 GB). An event for another
    // name costs one string comparison and keeps nothing.
    for (const parent of new Set(this.dirs.map((dir) => dirname(dir)))) {
      const names = new Set(this.dirs.filter((dir) => dirname(dir) === parent).map((dir) => basename(dir)));
      try {
        const parentWatch = fsWatch(parent, { persistent: false }, (_event, name) => {
          if (name !== null && names.has(String(name))) this.parentChanged(join(parent, String(name)));
        });
        parentWatch.on('error', () => undefined);
        this.parentWatches.push(parentWatch);
      } catch {
        // A parent that does not exist (or cannot be read): its folders are still read at every status and request.
      }
    }
    const initial = this.dirs.filter((dir) => this.watchable(dir));
    for (const dir of initial) this.watched.add(dir);
    this.watcher = watch(initial, {
      ignoreInitial: true,
      followSymlinks: false,
      depth: WATCH_DEPTH,
      ignored: (path) => !this.admit(path),
      awaitWriteFinish: false,
    });
    this.watcher.on('all', (event, path) => {
      if (event === 'unlink' || event === 'unlinkDir') this.seen.delete(path);
      this.schedule(path);
    });
    // A folder chokidar may not read (another user's) is not a reason to stop.
    this.watcher.on('error', () => undefined);
    if (initial.length > 0) await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  // Whose contents are watched: a real folder that is not a stranger's (a stranger's is never read, so its churn is not ours to follow).
  private watchable(dir: string): boolean {
    const info = lstatSync(dir, { throwIfNoEntry: false });
    if (!info?.isDirectory()) return false;
    const passedOver = passOverReason(dir, this.socketGid);
    return passedOver === null || passedOver === 'is empty';
  }

  // A configured name in a parent changed: follow the folder now there (or stop following the one gone).
  private parentChanged(dir: string): void {
    const watchable = this.watchable(dir);
    if (watchable && !this.watched.has(dir)) {
      this.watched.add(dir);
      this.watcher?.add(dir);
    } else if (!watchable && this.watched.has(dir)) {
      this.watched.delete(dir);
      void this.watcher?.unwatch(dir);
      for (const path of this.seen) if (path.startsWith(`${dir}/`)) this.seen.delete(path);
    }
    this.schedule(dir);
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    for (const parentWatch of this.parentWatches) parentWatch.close();
    await this.watcher?.close();
  }

  // Entries inside the folders count against MAX_WATCHED; once it is reached, new ones are left out.
  private admit(path: string): boolean {
    if (!this.dirs.some((dir) => path.startsWith(`${dir}/`)) || this.seen.has(path)) return true;
    if (this.seen.size >= MAX_WATCHED) {
      this.limited = true;
      return false;
    }
    this.seen.add(path);
    return true;
  }

  private schedule(path: string): void {
    const now = Date.now();
    if (this.timer) clearTimeout(this.timer);
    else this.burstStarted = now;
    const delay = Math.max(0, Math.min(WATCH_DEBOUNCE_MS, this.burstStarted + MAX_WAIT_MS - now));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange(this.current(), path);
    }, delay);
  }

  private read(): SourceSnapshot {
    return {
      ...chooseSource(this.dirs, this.socketGid),
      ...(this.limited && { watchLimited: `the configuration folders hold more than ${MAX_WATCHED} entries; changes beyond those are not seen live (install and validate still check every file)` }),
    };
  }
}

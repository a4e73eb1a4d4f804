// Watches the configuration folders (one may appear after the daemon starts,
// e.g. a technician copying /tmp/nix-cfg) and reports when the active source or
// its files change. Bounded whatever is dropped there: links are not followed
// (a link to /usr/share cost 4 000 watches), the depth is limited, at most
// MAX_WATCHED entries are watched (status says when more are left out), and a
// burst of writes is one notice, at least every MAX_WAIT_MS while it lasts.
import { dirname } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { chooseSource, type SourceChoice } from './config-sources.js';

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
    // Watch each folder's parent one level deep too, so a folder that appears
    // or disappears is seen without watching all of /tmp recursively.
    const parents = [...new Set(this.dirs.map((dir) => dirname(dir)))];
    this.watcher = watch([...this.dirs, ...parents], {
      ignoreInitial: true,
      followSymlinks: false,
      depth: WATCH_DEPTH,
      ignored: (path) => !this.relevant(path) || !this.admit(path),
      awaitWriteFinish: false,
    });
    this.watcher.on('all', (event, path) => {
      if (event === 'unlink' || event === 'unlinkDir') this.seen.delete(path);
      this.schedule(path);
    });
    // A folder chokidar may not read (another user's) is not a reason to stop.
    this.watcher.on('error', () => undefined);
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.watcher?.close();
  }

  private relevant(path: string): boolean {
    return this.dirs.some((dir) => path === dir || path.startsWith(`${dir}/`) || dir.startsWith(`${path}/`) || path === dirname(dir));
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

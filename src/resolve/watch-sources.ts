// Watches the configuration folders (one may appear after the daemon starts,
// e.g. a technician copying /tmp/nix-cfg) and reports when the active source or
// its files change. Bursts of writes are folded into one notice.
import { dirname } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { chooseSource, type SourceChoice } from './config-sources.js';

export const WATCH_DEBOUNCE_MS = 200;

export type SourceSnapshot = SourceChoice;

export class SourceWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private snapshot: SourceSnapshot;

  constructor(
    private readonly dirs: readonly string[],
    private readonly onChange: (snapshot: SourceSnapshot, changedPath: string) => void,
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
      depth: 99,
      ignored: (path) => !this.relevant(path),
      awaitWriteFinish: false,
    });
    this.watcher.on('all', (_event, path) => this.schedule(path));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.watcher?.close();
  }

  private relevant(path: string): boolean {
    return this.dirs.some((dir) => path === dir || path.startsWith(`${dir}/`) || dir.startsWith(`${path}/`) || path === dirname(dir));
  }

  private schedule(path: string): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.onChange(this.current(), path);
    }, WATCH_DEBOUNCE_MS);
  }

  private read(): SourceSnapshot {
    return chooseSource(this.dirs);
  }
}

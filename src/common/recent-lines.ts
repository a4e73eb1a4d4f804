// The last lines each source wrote, kept for error descriptions ("nix copy
// said: ..."), bounded so a chatty build costs no memory.
export class RecentLines {
  private readonly bySource = new Map<string, string[]>();

  constructor(private readonly keep: number) {}

  add(source: string, line: string): void {
    const lines = this.bySource.get(source) ?? [];
    lines.push(line);
    if (lines.length > this.keep) lines.shift();
    this.bySource.set(source, lines);
  }

  last(source: string, count: number): string[] {
    return (this.bySource.get(source) ?? []).slice(-count);
  }
}

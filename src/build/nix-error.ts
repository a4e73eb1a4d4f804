// Picks the part of a Nix failure a person needs out of its output: the
// "error:" lines and the "at FILE:LINE:COL" locations under them.
const LOCATION = /^\s*at (\/[^:]+):(\d+):(\d+):?$/;

export function nixErrorSummary(lines: readonly string[], maxLines = 12): string {
  const picked: string[] = [];
  let inError = false;
  for (const line of lines) {
    if (/^error(\s\(.*\))?:/.test(line)) inError = true;
    if (!inError) continue;
    if (line.trim() === '' && picked.at(-1) === '') continue;
    picked.push(line.replace(/\s+$/, ''));
  }
  const summary = picked.length > 0 ? picked : lines.slice(-maxLines);
  return summary.slice(0, maxLines).join('\n').trim();
}

export function nixErrorLocation(lines: readonly string[]): { file: string; line: number; column: number } | null {
  for (const line of lines) {
    const match = LOCATION.exec(line);
    if (match) return { file: match[1]!, line: Number(match[2]), column: Number(match[3]) };
  }
  return null;
}

// Lines that mean Nix tried to fetch something: the configuration needs a
// download that is not in the ISO's store.
export function wantsNetwork(lines: readonly string[]): boolean {
  return lines.some((line) => /Could not resolve host|unable to download|Couldn't resolve host|Network is unreachable/i.test(line));
}

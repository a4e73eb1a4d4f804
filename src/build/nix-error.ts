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

export interface NixFailure {
  code: 'needs-network' | 'build-failed' | 'config-eval-failed';
  title: string;
  description: string;
}

// A Nix failure told for the person who edits the configuration folder: Nix
// names the file it read (the staged copy in <root>/etc/nixos, or the source
// itself); the description names the file in the source folder.
export function describeNixFailure(output: readonly string[], where: { source: string; staged?: string; evaluating?: boolean }): NixFailure {
  const summary = nixErrorSummary(output);
  if (wantsNetwork(output)) {
    return {
      code: 'needs-network',
      title: 'The configuration needs something that is not on the ISO',
      description: `Nix tried to download:\n${summary}\nThis installer works offline: rebuild the ISO from a configuration that includes this package (nix-cfg/), or remove it from ${where.source}.`,
    };
  }
  const location = nixErrorLocation(output);
  let inSource = '';
  if (location && where.staged && location.file.startsWith(`${where.staged}/`)) {
    inSource = `\nThat is ${where.source}${location.file.slice(where.staged.length)}, line ${location.line}, column ${location.column}.`;
  } else if (location?.file.startsWith(`${where.source}/`)) {
    inSource = `\nThat is ${location.file}, line ${location.line}, column ${location.column}.`;
  }
  return {
    code: where.evaluating ? 'config-eval-failed' : 'build-failed',
    title: where.evaluating ? 'The configuration does not evaluate' : 'The system configuration could not be built',
    description: `Nix said:\n${summary}${inSource}\nFix the configuration in ${where.source} and try again.`,
  };
}

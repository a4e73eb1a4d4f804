// What a person needs out of a Nix failure, from Nix's structured log: the
// innermost error message first, then the trace frames that point into the
// configuration folder (file, line, column and the source line), then a few
// others. Newer Nix prints its trace frames before the error as text; the
// structured fields are the same on every version, so this reads only those.
import { readFileSync, realpathSync, statSync } from 'node:fs';
import type { NixLogEvent, NixPosition } from './log-format.js';

type ErrorEvent = Extract<NixLogEvent, { action: 'msg' }>;

// Frames shown that point outside the configuration folder (into nixpkgs or this product).
const OTHER_FRAMES = 3;
const CONFIG_FRAMES = 6;
const SOURCE_LINE_CHARS = 160;
// A configuration file larger than this is not read for one line.
const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

// Where the person's files are: the source folder, and the staged copy Nix read instead of it.
export interface ConfigPlace {
  source: string;
  staged?: string;
}

// The line an error points at, read only from the configuration folder (or
// its staged copy), after resolving links: an error position can name any
// file (`import /etc/shadow`), and its lines must not reach a reply.
function sourceLine(position: NixPosition, place: ConfigPlace): string | null {
  try {
    const file = realpathSync(position.file);
    const folders = [place.source, place.staged].filter((f): f is string => f !== undefined).map((f) => realpathSync(f));
    if (!folders.some((folder) => file.startsWith(`${folder}/`))) return null;
    const info = statSync(file);
    if (!info.isFile() || info.size > MAX_SOURCE_BYTES) return null;
    const line = readFileSync(file, 'utf8').split('\n')[position.line - 1];
    return line === undefined ? null : line.trim().slice(0, SOURCE_LINE_CHARS);
  } catch {
    return null;
  }
}

// A file Nix read, as the person knows it: the staged copy's path becomes the source folder's.
export function inConfigFolder(file: string, place: ConfigPlace): string | null {
  if (place.staged && file.startsWith(`${place.staged}/`)) return `${place.source}${file.slice(place.staged.length)}`;
  if (file.startsWith(`${place.source}/`)) return file;
  return null;
}

function where(position: NixPosition, place: ConfigPlace): string {
  const file = inConfigFolder(position.file, place) ?? position.file;
  const text = sourceLine(position, place);
  return `  at ${file}:${position.line}:${position.column}${text ? `\n      ${text}` : ''}`;
}

export interface NixErrorReport {
  // The summary for a person, "error: ..." first.
  summary: string;
  // The innermost position inside the configuration folder, if any.
  inConfig: NixPosition | null;
}

// What nix-daemon tells a client that is not a trusted user (the eval user)
// about the settings it passed (NIX_CONFIG's, --option's): it ignores them and
// says so in every run, at the error level on Nix 2.26 and 2.34. Logged, never
// taken for the failure.
const UNTRUSTED_CLIENT_NOTICE = /ignoring the (?:client|user)-specified setting|ignoring untrusted substituter|Ignoring the client-specified experimental features|is a restricted setting and you are not a trusted user/i;

export function isUntrustedClientNotice(line: string): boolean {
  return UNTRUSTED_CLIENT_NOTICE.test(line);
}

// The last error Nix reported (the one that ended the command), told for the configuration's author.
export function reportNixError(errors: readonly ErrorEvent[], place: ConfigPlace, fallback: readonly string[]): NixErrorReport {
  const error = [...errors].reverse().find((e) => e.message.trim() !== '' && !/^\(use '--show-trace'/.test(e.message) && !isUntrustedClientNotice(e.message));
  if (!error) return { summary: fallback.slice(-12).join('\n').trim(), inConfig: null };
  const lines = [`error: ${error.message.trim()}`];
  const inFolder = (p: NixPosition | null) => p !== null && inConfigFolder(p.file, place) !== null;
  if (error.position) lines.push(where(error.position, place));
  // Nix 2.8 lists frames innermost first; whatever the order, the person's own files come first.
  const frames = error.trace.filter((f) => f.position !== null);
  const own = frames.filter((f) => inFolder(f.position)).slice(0, CONFIG_FRAMES);
  const others = frames.filter((f) => !inFolder(f.position)).slice(0, OTHER_FRAMES);
  for (const frame of [...own, ...others]) lines.push(`  … ${frame.message.trim()}`, where(frame.position!, place));
  const hidden = frames.length - own.length - others.length;
  if (hidden > 0) lines.push(`  … and ${hidden} more frames (not shown; an install keeps the full trace in its log)`);
  const positions = [error.position, ...frames.map((f) => f.position)].filter((p): p is NixPosition => p !== null);
  return { summary: lines.join('\n'), inConfig: positions.find(inFolder) ?? null };
}

// Nix tried to fetch something: the configuration needs a download that is not in the ISO's store.
export function wantsNetwork(messages: readonly string[]): boolean {
  return messages.some((line) => /Could not resolve host|unable to download|Couldn't resolve host|Network is unreachable|Resolving timed out/i.test(line));
}

export interface NixFailure {
  code: 'needs-network' | 'build-failed' | 'config-eval-failed';
  title: string;
  description: string;
}

// A failed evaluation or build, told for the person who edits the configuration folder.
export function describeNixFailure(errors: readonly ErrorEvent[], messages: readonly string[], place: ConfigPlace & { evaluating?: boolean }): NixFailure {
  const report = reportNixError(errors, place, messages);
  if (wantsNetwork(messages)) {
    return {
      code: 'needs-network',
      title: 'The configuration needs something that is not on the ISO',
      description: `Nix tried to download:\n${report.summary}\nThis installer works offline: rebuild the ISO from a configuration that includes this package (nix-cfg/), or remove it from ${place.source}.`,
    };
  }
  const at = report.inConfig;
  const inSource = at ? `\nThat is ${inConfigFolder(at.file, place)}, line ${at.line}, column ${at.column}.` : '';
  return {
    code: place.evaluating ? 'config-eval-failed' : 'build-failed',
    title: place.evaluating ? 'The configuration does not evaluate' : 'The system configuration could not be built',
    description: `Nix said:\n${report.summary}${inSource}\nFix the configuration in ${place.source} and try again.`,
  };
}

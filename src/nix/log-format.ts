// Nix's structured log (`--log-format internal-json`): one `@nix {...}` JSON
// object per stderr line, the same on every Nix this installer supports (2.8
// to 2.34 measured). Activities have ids, parents, types and progress
// results; errors carry their message, position and trace as fields, so
// nothing here depends on how a Nix version renders them as text.

import { clip } from '../common/clip.js';

// Activity types (Nix's ActivityType enum, unchanged since 2.0).
export const ACTIVITY = {
  copyPath: 100,
  fileTransfer: 101,
  realise: 102,
  copyPaths: 103,
  builds: 104,
  build: 105,
  substitute: 108,
  queryPathInfo: 109,
  fetchTree: 112,
} as const;

// Result types (Nix's ResultType enum).
export const RESULT = {
  buildLogLine: 101,
  setPhase: 104,
  progress: 105,
  setExpected: 106,
  postBuildLogLine: 107,
} as const;

// Nix's verbosity levels; 0 is an error.
export const LEVEL_ERROR = 0;
export const LEVEL_WARN = 1;

export interface NixPosition {
  file: string;
  line: number;
  column: number;
}

export interface NixTraceFrame {
  message: string;
  position: NixPosition | null;
}

export type NixLogEvent =
  | { action: 'start'; id: number; parent: number; type: number; text: string; fields: unknown[] }
  | { action: 'stop'; id: number }
  | { action: 'result'; id: number; type: number; fields: unknown[] }
  | { action: 'msg'; level: number; text: string; message: string; position: NixPosition | null; trace: NixTraceFrame[] };

const PREFIX = '@nix ';
// Colours in messages (Nix colours even with --log-format internal-json).
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

export function plain(text: string): string {
  return text.replace(ANSI, '');
}

function position(value: Record<string, unknown>): NixPosition | null {
  const { file, line, column } = value;
  // Newer Nix may give the file as an object ({ path } or a source accessor) or a string like «string».
  const path = typeof file === 'string' ? file : file && typeof file === 'object' && typeof (file as { path?: unknown }).path === 'string' ? (file as { path: string }).path : null;
  if (path === null || typeof line !== 'number' || line <= 0) return null;
  const col = typeof column === 'number' ? column : 0;
  // Nix 2.34 gives the file as the whole position, "/path/file.nix:4:10".
  const suffix = `:${line}:${col}`;
  return { file: path.endsWith(suffix) ? path.slice(0, -suffix.length) : path, line, column: col };
}

// One stderr line: a structured event, or null for a plain line (some
// messages bypass the logger, e.g. a builder writing to the terminal).
export function parseNixLogLine(line: string): NixLogEvent | null {
  if (!line.startsWith(PREFIX)) return null;
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line.slice(PREFIX.length)) as Record<string, unknown>;
  } catch {
    return null;
  }
  const num = (v: unknown) => (typeof v === 'number' ? v : 0);
  const fields = Array.isArray(raw.fields) ? raw.fields : [];
  switch (raw.action) {
    case 'start':
      return { action: 'start', id: num(raw.id), parent: num(raw.parent), type: num(raw.type), text: plain(String(raw.text ?? '')), fields };
    case 'stop':
      return { action: 'stop', id: num(raw.id) };
    case 'result':
      return { action: 'result', id: num(raw.id), type: num(raw.type), fields };
    case 'msg': {
      const trace = Array.isArray(raw.trace)
        ? raw.trace.map((frame: Record<string, unknown>) => ({ message: plain(String(frame.raw_msg ?? frame.msg ?? '')), position: position(frame) }))
        : [];
      const text = plain(String(raw.msg ?? ''));
      return { action: 'msg', level: num(raw.level), text, message: raw.raw_msg !== undefined ? plain(String(raw.raw_msg)) : text, position: position(raw), trace };
    }
    default:
      return null;
  }
}

// "/nix/store/<hash>-name.drv" -> "name"
export function storeName(path: string): string {
  return path.replace(/^.*\/[0-9a-z]{32}-/, '').replace(/\.drv$/, '');
}

// Nix's plan, printed before it builds: "these 3 derivations will be built:" or "this derivation ...".
export const PLANNED_BUILDS = /^(?:these (\d+) derivations|this derivation) will be built:?/;

export interface BuildProgress {
  done: number;
  expected: number;
  running: number;
  // The derivations being built now, by name.
  current: string[];
}

// Errors kept per command (the last one ended it), and how much of each.
const KEPT_ERRORS = 16;
const KEPT_MESSAGE_CHARS = 8 * 1024;
const KEPT_FRAMES = 64;

function cut(text: string): string {
  return clip(text, KEPT_MESSAGE_CHARS);
}

function boundedError(event: Extract<NixLogEvent, { action: 'msg' }>): Extract<NixLogEvent, { action: 'msg' }> {
  return { ...event, text: cut(event.text), message: cut(event.message), trace: event.trace.slice(0, KEPT_FRAMES).map((f) => ({ ...f, message: cut(f.message) })) };
}

// Follows the activities of one Nix command: what is being built or copied
// and the progress counts Nix itself keeps, and turns each event into the
// line a person would have seen (for the install log).
export class NixActivities {
  private readonly activities = new Map<number, { type: number; text: string; fields: unknown[] }>();
  private builds = { done: 0, expected: 0, running: 0 };
  // The count in Nix's plan: Nix 2.34's own expected count flickers by one while goals are added.
  private planned: number | null = null;
  readonly errors: Extract<NixLogEvent, { action: 'msg' }>[] = [];

  // The line to log for an event, or null when it has none worth keeping.
  handle(event: NixLogEvent): string | null {
    switch (event.action) {
      case 'start':
        this.activities.set(event.id, { type: event.type, text: event.text, fields: event.fields });
        return event.text || null;
      case 'stop':
        this.activities.delete(event.id);
        return null;
      case 'result': {
        const activity = this.activities.get(event.id);
        if (event.type === RESULT.buildLogLine || event.type === RESULT.postBuildLogLine) return plain(String(event.fields[0] ?? ''));
        if (event.type === RESULT.progress && activity?.type === ACTIVITY.builds) {
          const [done, expected, running] = event.fields.map(Number);
          this.builds = { done: done ?? 0, expected: expected ?? 0, running: running ?? 0 };
        }
        return null;
      }
      case 'msg': {
        // builtins.trace prints at the error level too: only the last few are kept, each cut to size.
        if (event.level === LEVEL_ERROR) {
          this.errors.push(boundedError(event));
          if (this.errors.length > KEPT_ERRORS) this.errors.shift();
        }
        const plan = PLANNED_BUILDS.exec(event.text);
        if (plan) this.planned = plan[1] ? Number(plan[1]) : 1;
        return event.text;
      }
    }
  }

  buildProgress(): BuildProgress {
    const current = [...this.activities.values()].filter((a) => a.type === ACTIVITY.build).map((a) => storeName(String(a.fields[0] ?? '')));
    const expected = Math.max(this.planned ?? this.builds.expected, this.builds.done);
    return { ...this.builds, expected, current };
  }
}

// A flake's flake.lock, read as data (never evaluated): which inputs it
// locks, to what, and where each locked input lives in the store. Nix finds a
// locked input (one with a narHash) by that store path before it would fetch
// it, so an input whose path is in the store needs no network.
import { createHash } from 'node:crypto';

export const DEFAULT_STORE_DIR = '/nix/store';

// flake.lock versions Nix 2.8 to 2.34 write and read.
const LOCK_VERSIONS = [5, 6, 7];

export interface LockNode {
  locked?: Record<string, unknown>;
  original?: Record<string, unknown>;
  // An input's node id, or a `follows` path from the root node.
  inputs?: Record<string, string | string[]>;
  flake?: boolean;
}

export interface FlakeLock {
  root: string;
  nodes: Record<string, LockNode>;
}

export class FlakeLockError extends Error {}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function parseFlakeLock(text: string): FlakeLock {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new FlakeLockError(`it is not valid JSON (${(error as Error).message})`);
  }
  if (!isRecord(data) || !isRecord(data.nodes) || typeof data.root !== 'string') throw new FlakeLockError('it has no "nodes" and "root"');
  if (!LOCK_VERSIONS.includes(data.version as number)) throw new FlakeLockError(`it is version ${JSON.stringify(data.version)}; this installer reads versions ${LOCK_VERSIONS.join(', ')}`);
  const nodes: Record<string, LockNode> = {};
  for (const [id, node] of Object.entries(data.nodes)) {
    if (!isRecord(node)) throw new FlakeLockError(`node "${id}" is not an object`);
    const inputs = node.inputs;
    if (inputs !== undefined && (!isRecord(inputs) || !Object.values(inputs).every((v) => typeof v === 'string' || (Array.isArray(v) && v.every((p) => typeof p === 'string'))))) {
      throw new FlakeLockError(`node "${id}" has malformed "inputs"`);
    }
    nodes[id] = {
      ...(isRecord(node.locked) && { locked: node.locked }),
      ...(isRecord(node.original) && { original: node.original }),
      ...(inputs !== undefined && { inputs: inputs as Record<string, string | string[]> }),
      ...(typeof node.flake === 'boolean' && { flake: node.flake }),
    };
  }
  if (!nodes[data.root]) throw new FlakeLockError(`its root node "${data.root}" does not exist`);
  return { root: data.root, nodes };
}

export interface LockedInput {
  // How a person names it: "nixpkgs", or "home-manager/nixpkgs" for an input's input.
  path: string;
  node: string;
  locked: Record<string, unknown> | null;
  original: Record<string, unknown> | null;
}

// The node an input spec points at: a node id, or a `follows` path walked from the root.
function resolveSpec(lock: FlakeLock, spec: string | string[], seen = 0): string | null {
  if (typeof spec === 'string') return spec;
  if (seen > 64) return null;
  let node = lock.root;
  for (const name of spec) {
    const next = lock.nodes[node]?.inputs?.[name];
    if (next === undefined) return null;
    const resolved = resolveSpec(lock, next, seen + 1);
    if (resolved === null) return null;
    node = resolved;
  }
  return node;
}

// The root's input names and the node each resolves to (null: a follows that leads nowhere).
export function rootInputs(lock: FlakeLock): Map<string, string | null> {
  const inputs = lock.nodes[lock.root]!.inputs ?? {};
  return new Map(Object.entries(inputs).map(([name, spec]) => [name, resolveSpec(lock, spec)]));
}

// Every node reachable from the root, once each, named by the first input path that reaches it.
export function lockedInputs(lock: FlakeLock): LockedInput[] {
  const found: LockedInput[] = [];
  const seen = new Set([lock.root]);
  const queue: { node: string; path: string[] }[] = [{ node: lock.root, path: [] }];
  while (queue.length > 0) {
    const { node, path } = queue.shift()!;
    for (const [name, spec] of Object.entries(lock.nodes[node]?.inputs ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      const target = resolveSpec(lock, spec);
      if (target === null || seen.has(target)) continue;
      seen.add(target);
      const next = lock.nodes[target];
      found.push({ path: [...path, name].join('/'), node: target, locked: next?.locked ?? null, original: next?.original ?? null });
      queue.push({ node: target, path: [...path, name] });
    }
  }
  return found;
}

// The reference a person would write for a locked (or original) input, e.g.
// github:NixOS/nixpkgs/<rev>, path:/x, https://.../x.tar.gz.
export function flakeReference(attrs: Record<string, unknown> | null): string {
  if (!attrs) return '(nothing recorded)';
  const text = (key: string) => (typeof attrs[key] === 'string' || typeof attrs[key] === 'number' ? String(attrs[key]) : undefined);
  const type = text('type');
  const query = (keys: string[]) => {
    const pairs = keys.filter((k) => text(k) !== undefined).map((k) => `${k}=${text(k)}`);
    return pairs.length > 0 ? `?${pairs.join('&')}` : '';
  };
  switch (type) {
    case 'github':
    case 'gitlab':
    case 'sourcehut':
      return `${type}:${text('owner')}/${text('repo')}${text('rev') ? `/${text('rev')}` : text('ref') ? `/${text('ref')}` : ''}`;
    case 'indirect':
      return `${text('id')}${text('ref') ? `/${text('ref')}` : ''}${text('rev') ? `/${text('rev')}` : ''} (a flake registry name)`;
    case 'path':
      return `path:${text('path')}`;
    case 'git':
    case 'mercurial':
      return `${type === 'git' ? 'git+' : 'hg+'}${text('url')}${query(['ref', 'rev', 'dir'])}`;
    case 'tarball':
    case 'file':
      return `${text('url')}`;
    default:
      return JSON.stringify(attrs);
  }
}

// A lock entry Nix can find in the store without asking anyone: it has a
// narHash. A registry name (`indirect`) is never locked.
export function isLocked(input: LockedInput): boolean {
  return input.locked !== null && input.locked.type !== 'indirect' && typeof input.locked.narHash === 'string';
}

// A `path:./sub` input is part of the flake's own folder (newer Nix locks it without a narHash).
export function isInsideFlake(input: LockedInput): boolean {
  return input.locked?.type === 'path' && typeof input.locked.path === 'string' && !input.locked.path.startsWith('/');
}

const NIX_BASE32 = '0123456789abcdfghijklmnpqrsvwxyz';

// Nix's own base-32 (least significant bits first, its alphabet).
export function nixBase32(bytes: Uint8Array): string {
  const length = Math.ceil((bytes.length * 8) / 5);
  let out = '';
  for (let n = length - 1; n >= 0; n--) {
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    const value = (bytes[i]! >> j) | (i + 1 < bytes.length ? bytes[i + 1]! << (8 - j) : 0);
    out += NIX_BASE32[value & 0x1f];
  }
  return out;
}

function fromNixBase32(text: string): Buffer | null {
  const bytes = Buffer.alloc(Math.floor((text.length * 5) / 8));
  for (let n = 0; n < text.length; n++) {
    const digit = NIX_BASE32.indexOf(text[text.length - n - 1]!);
    if (digit < 0) return null;
    const bit = n * 5;
    const i = Math.floor(bit / 8);
    const j = bit % 8;
    bytes[i]! |= (digit << j) & 0xff;
    if (i + 1 < bytes.length) bytes[i + 1]! |= digit >> (8 - j);
    else if (digit >> (8 - j) !== 0) return null;
  }
  return bytes;
}

// A sha256 narHash as bytes: SRI (sha256-<base64>), or sha256:<base16|nix base32>.
export function sha256Bytes(hash: string): Buffer | null {
  const sri = /^sha256-([A-Za-z0-9+/]{43}=)$/.exec(hash);
  if (sri) return Buffer.from(sri[1]!, 'base64');
  const prefixed = /^sha256:([0-9a-z]+)$/.exec(hash);
  if (prefixed?.[1]!.length === 64 && /^[0-9a-f]+$/.test(prefixed[1])) return Buffer.from(prefixed[1], 'hex');
  if (prefixed?.[1]!.length === 52) return fromNixBase32(prefixed[1]);
  return null;
}

// Where Nix keeps an input with this narHash: the store path of a recursive
// sha256 of its contents, named "source" (what every fetcher names it).
export function sourceStorePath(narHash: string, storeDir = DEFAULT_STORE_DIR): string | null {
  const hash = sha256Bytes(narHash);
  if (!hash || hash.length !== 32) return null;
  const fingerprint = `source:sha256:${hash.toString('hex')}:${storeDir}:source`;
  const digest = createHash('sha256').update(fingerprint).digest();
  const compressed = new Uint8Array(20);
  for (let i = 0; i < digest.length; i++) compressed[i % 20]! ^= digest[i]!;
  return `${storeDir}/${nixBase32(compressed)}-source`;
}

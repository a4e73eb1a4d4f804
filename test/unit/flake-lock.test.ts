import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { flakeReference, isInsideFlake, isLocked, lockedInputs, parseFlakeLock, rootInputs, sha256Bytes, sourceStorePath } from '../../src/nix/flake-lock.js';
import { flakeRef, nixString } from '../../src/nix/flake-commands.js';
import { NixVersion } from '../../src/nix/commands.js';
import { NIX_CONFIG } from '../helpers/env.js';

const narHash = (seed: number) => `sha256-${Buffer.alloc(32, seed).toString('base64')}`;

// home-manager's nixpkgs follows the root's; utils is home-manager's own input.
const lock = {
  version: 7,
  root: 'root',
  nodes: {
    root: { inputs: { nixpkgs: 'nixpkgs', home: 'home', local: 'local' } },
    nixpkgs: { locked: { type: 'github', owner: 'NixOS', repo: 'nixpkgs', rev: 'abc123', narHash: narHash(1) }, original: { type: 'github', owner: 'NixOS', repo: 'nixpkgs', ref: 'nixos-26.11' } },
    home: { inputs: { nixpkgs: ['nixpkgs'], utils: 'utils' }, locked: { type: 'tarball', url: 'https://example.org/home.tar.gz', narHash: narHash(2) } },
    utils: { locked: { type: 'indirect', id: 'flake-utils' } },
    local: { locked: { type: 'path', path: './modules' } },
  },
};

describe('flake.lock', () => {
  it('lists every reachable input once, by the first path that reaches it, following `follows`', () => {
    const parsed = parseFlakeLock(JSON.stringify(lock));
    expect(lockedInputs(parsed).map((i) => [i.path, i.node])).toEqual([
      ['home', 'home'],
      ['local', 'local'],
      ['nixpkgs', 'nixpkgs'],
      ['home/utils', 'utils'],
    ]);
    expect([...rootInputs(parsed)]).toEqual([
      ['nixpkgs', 'nixpkgs'],
      ['home', 'home'],
      ['local', 'local'],
    ]);
    const byPath = Object.fromEntries(lockedInputs(parsed).map((i) => [i.path, i]));
    expect(isLocked(byPath.nixpkgs!)).toBe(true);
    expect(isLocked(byPath['home/utils']!)).toBe(false);
    expect(isLocked(byPath.local!)).toBe(false);
    expect(isInsideFlake(byPath.local!)).toBe(true);
    expect(isInsideFlake(byPath.nixpkgs!)).toBe(false);
  });

  it('says each reference as a person writes it', () => {
    expect(flakeReference(lock.nodes.nixpkgs.locked)).toBe('github:NixOS/nixpkgs/abc123');
    expect(flakeReference(lock.nodes.nixpkgs.original)).toBe('github:NixOS/nixpkgs/nixos-26.11');
    expect(flakeReference(lock.nodes.home.locked)).toBe('https://example.org/home.tar.gz');
    expect(flakeReference(lock.nodes.utils.locked)).toBe('flake-utils (a flake registry name)');
    expect(flakeReference({ type: 'git', url: 'https://example.org/x.git', ref: 'main', rev: 'def' })).toBe('git+https://example.org/x.git?ref=main&rev=def');
    expect(flakeReference({ type: 'path', path: '/srv/flake' })).toBe('path:/srv/flake');
    expect(flakeReference(null)).toBe('(nothing recorded)');
  });

  it('refuses what it cannot read, saying why', () => {
    expect(() => parseFlakeLock('{')).toThrow(/not valid JSON/);
    expect(() => parseFlakeLock(JSON.stringify({ ...lock, version: 3 }))).toThrow('it is version 3; this installer reads versions 5, 6, 7');
    expect(() => parseFlakeLock(JSON.stringify({ ...lock, root: 'gone' }))).toThrow('its root node "gone" does not exist');
    expect(() => parseFlakeLock(JSON.stringify({ version: 7, root: 'root', nodes: { root: { inputs: { a: 3 } } } }))).toThrow('node "root" has malformed "inputs"');
  });

  it("computes an input's store path exactly as Nix does, from each form of narHash", () => {
    const env = { ...process.env, NIX_CONFIG: `${NIX_CONFIG}\nexperimental-features = nix-command` };
    for (let i = 0; i < 4; i++) {
      const sri = `sha256-${randomBytes(32).toString('base64')}`;
      const nix = execFileSync('nix-store', ['--print-fixed-path', '--recursive', 'sha256', sri, 'source'], { env, encoding: 'utf8' }).trim();
      expect(sourceStorePath(sri)).toBe(nix);
      const base32 = execFileSync('nix', ['hash', 'to-base32', sri], { env, encoding: 'utf8' }).trim();
      expect(sourceStorePath(`sha256:${base32}`)).toBe(nix);
      expect(sourceStorePath(`sha256:${sha256Bytes(sri)!.toString('hex')}`)).toBe(nix);
    }
    expect(sourceStorePath('sha512-abc')).toBeNull();
    expect(sourceStorePath('sha256:not-a-hash')).toBeNull();
  });
});

describe('flake references to a folder', () => {
  const old = new NixVersion(2, 8, 'nix (Nix) 2.8.0');
  const recent = new NixVersion(2, 26, 'nix (Nix) 2.26.3');
  it('names a plain folder as it is on every Nix, and %-escapes others where Nix reads escapes', () => {
    expect(flakeRef('/tmp/calamares-root-x1_2/etc/nixos', old)).toBe('path:/tmp/calamares-root-x1_2/etc/nixos');
    expect(flakeRef('/mnt/my disk/etc/nixos#1?x', recent)).toBe('path:/mnt/my%20disk/etc/nixos%231%3Fx');
    expect(() => flakeRef('/mnt/my disk', old)).toThrow('Nix cannot read a flake from this folder');
  });

  it('writes Nix string literals that hold any text', () => {
    expect(nixString('a "b" \\ ${c} $d\n')).toBe('"a \\"b\\" \\\\ \\${c} \\$d\\n"');
  });
});

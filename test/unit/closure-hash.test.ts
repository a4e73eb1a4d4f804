// The closure hash a fleet's seed puts in a target's go and the target checks
// its copy against: real derivations built in the live store (one referring to
// the other), copied by real Nix into a store under a scratch root.
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/common/context.js';
import { closureHash } from '../../src/nix/closure-hash.js';
import { NIX_CONFIG, scratch } from '../helpers/env.js';
import { closureHashOf } from '../helpers/fleet.js';

const ctx: CommandContext = { signal: new AbortController().signal, log: () => undefined, output: () => undefined, recentLines: () => [] };
const env = { ...process.env, NIX_CONFIG: `${NIX_CONFIG}\nexperimental-features = nix-command` };
let dir: string;
let leaf: string;
let top: string;

// Two store paths, TOP referring to LEAF; the name carries the test run so each run builds anew.
function build(dir: string): { leaf: string; top: string } {
  const tag = `${process.pid}-${Date.now()}`;
  const expr = `let
    sh = "/bin/sh";
    leaf = derivation { name = "closure-hash-leaf-${tag}"; system = builtins.currentSystem; builder = sh; args = [ "-c" "echo leaf > $out" ]; };
  in {
    inherit leaf;
    top = derivation { name = "closure-hash-top-${tag}"; system = builtins.currentSystem; builder = sh; args = [ "-c" "echo \${leaf} > $out" ]; };
  }`;
  const [leaf, top] = execFileSync('nix-build', ['--no-out-link', '-E', expr, '-A', 'leaf', '-A', 'top'], { env, cwd: dir, encoding: 'utf8' }).trim().split('\n');
  return { leaf: leaf!, top: top! };
}

beforeAll(async () => {
  dir = await scratch('closure-hash');
  ({ leaf, top } = build(dir));
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('closureHash', () => {
  it('covers the whole closure: a root and what it refers to', async () => {
    const live = await closureHash(ctx, [top], null);
    expect(live).toEqual({ hash: closureHashOf([top]), paths: 2 });
    expect(closureHashOf([top])).toBe(closureHashOf([leaf, top]));
    expect((await closureHash(ctx, [leaf], null)).paths).toBe(1);
    expect((await closureHash(ctx, [leaf], null)).hash).not.toBe(live.hash);
    // Roots given twice or in another order are the same closure.
    expect(await closureHash(ctx, [leaf, top, top], null)).toEqual(live);
  });

  it("is the same in a target's store that real Nix copied the closure into", async () => {
    const root = join(dir, 'target');
    await mkdir(root);
    execFileSync('nix', ['copy', '--no-check-sigs', '--to', `local?root=${root}`, top], { env });
    expect(await closureHash(ctx, [top], root)).toEqual(await closureHash(ctx, [top], null));
  });

  it("differs when a path of the copy is recorded with another NAR hash, as a seed whose store changed would leave it", async () => {
    const root = join(dir, 'copied');
    await mkdir(root);
    execFileSync('nix', ['copy', '--no-check-sigs', '--to', `local?root=${root}`, top], { env });
    // The copy's records with LEAF's NAR hash changed, loaded into another store (the hash is all a query reads).
    const lines = execFileSync('nix-store', ['--store', `local?root=${root}`, '--dump-db'], { env, encoding: 'utf8' }).split('\n');
    // Each record: path, hash, NAR size, deriver, count of references, the references (LEAF is one of TOP's too).
    let at = 0;
    while (at < lines.length && lines[at] !== leaf) at += 5 + Number(lines[at + 4]);
    expect(lines[at]).toBe(leaf);
    // The registration's hash: base 16, with "sha256:" before it on some Nix versions.
    expect(lines[at + 1]).toMatch(/^(sha256:)?[0-9a-f]{64}$/);
    lines[at + 1] = lines[at + 1]!.replace(/[0-9a-f]{64}$/, '0'.repeat(64));
    const changed = join(dir, 'changed');
    await mkdir(changed);
    execFileSync('nix-store', ['--store', `local?root=${changed}`, '--load-db'], { env, input: lines.join('\n') });
    const live = await closureHash(ctx, [top], null);
    const seen = await closureHash(ctx, [top], changed);
    expect(seen.paths).toBe(live.paths);
    expect(seen.hash).not.toBe(live.hash);
  });

  it("names the store it could not read when a root is not in it", async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await expect(closureHash(ctx, [top], empty)).rejects.toMatchObject({ code: 'closure-query-failed', title: `The closure could not be read from the store under ${empty}` });
  });
});

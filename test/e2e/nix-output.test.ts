// What the installer reads from Nix, read from the real Nix of this test bed
// (2.8, 2.26 or 2.34): evaluation errors, build progress, copy events. Each
// case makes Nix do the real thing and checks what the Nix module makes of it.
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildAttribute, closureInfo, evaluateJson, nixVersion } from '../../src/nix/commands.js';
import { copyToTarget } from '../../src/nix/copy-command.js';
import { describeNixFailure } from '../../src/nix/errors.js';
import type { BuildProgress } from '../../src/nix/log-format.js';
import type { CommandContext } from '../../src/common/context.js';
import { InstallError } from '../../src/common/install-error.js';
import { writeConfig } from '../helpers/config.js';
import { NIXOS_EXPR, NIX_CONFIG, REPO, scratch } from '../helpers/env.js';

let dir: string;
const logged: string[] = [];
const ctx: CommandContext = {
  signal: new AbortController().signal,
  log: (source, line) => logged.push(`[${source}] ${line}`),
  output: (source, line) => logged.push(`[${source}] ${line}`),
  recentLines: () => [],
};

beforeEach(async () => {
  dir = await scratch('nix-output');
  logged.length = 0;
  process.env.NIX_CONFIG = NIX_CONFIG;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function evaluationError(source: string): Promise<InstallError> {
  const facts = join(REPO, 'nix/config-facts.nix');
  const error = await evaluateJson(ctx, facts, ['--argstr', 'nixos', NIXOS_EXPR, '-I', `nixos-config=${source}/configuration.nix`], (outcome) => {
    const problem = describeNixFailure(outcome.activities.errors, outcome.messages, { source, evaluating: true });
    return new InstallError(problem.code, problem.title, problem.description);
  }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InstallError);
  return error as InstallError;
}

describe('evaluation errors', () => {
  it('show the innermost error first, then the frames in the configuration folder with their source line', async () => {
    // The error is raised inside builtins.filter, called from the product's config-facts.nix: Nix 2.26+
    // prints frames of our file first; the person must see their own file and line.
    const source = await writeConfig(join(dir, 'cfg'), {
      raw: '{ config, ... }:\n{\n  users.users.alice.isNormalUser =\n    (builtins.filter (x: x.enabled) [ { } ]) != [ ];\n  test = { };\n}\n',
    });
    const error = await evaluationError(source);
    expect(error.code).toBe('config-eval-failed');
    const lines = error.description.split('\n');
    expect(lines[0]).toBe('Nix said:');
    expect(lines[1]).toMatch(/^error: attribute 'enabled' missing$/);
    const firstAt = lines.findIndex((l) => l.trim().startsWith('at '));
    expect(lines[firstAt]).toContain(`${source}/configuration.nix:4:`);
    expect(lines[firstAt + 1]!.trim()).toBe('(builtins.filter (x: x.enabled) [ { } ]) != [ ];');
    expect(error.description).toContain(`That is ${source}/configuration.nix, line 4,`);
    // The product's own frames come after the person's, if at all.
    const ours = lines.findIndex((l) => l.includes('config-facts.nix'));
    if (ours !== -1) expect(ours).toBeGreaterThan(firstAt);
  });

  it('name the file and line of a syntax error in an imported module', async () => {
    const source = await writeConfig(join(dir, 'cfg'), { raw: '{ ... }:\n{\n  imports = [ ./modules/broken.nix ];\n  test = { };\n}\n' });
    await mkdir(join(source, 'modules'));
    await writeFile(join(source, 'modules/broken.nix'), '{ ... }:\n{\n  networking.hostName = "x"\n  broken = ;\n}\n');
    const error = await evaluationError(source);
    expect(error.description).toMatch(/^error: syntax error, unexpected '='/m);
    expect(error.description).toContain(`That is ${source}/modules/broken.nix, line 4, column 10.`);
  });

  it('a missing import is named with the file that imports it', async () => {
    const source = await writeConfig(join(dir, 'cfg'), { raw: '{ ... }:\n{\n  imports = [ ./missing-module.nix ];\n  test = { };\n}\n' });
    const error = await evaluationError(source);
    expect(error.description).toContain('missing-module.nix');
    expect(error.description.split('\n')[1]).toMatch(/^error: /);
  });
});

describe('builds', () => {
  it("report Nix's own counts as the build goes, with the derivation being built", async () => {
    const nonce = randomBytes(6).toString('hex');
    const source = await writeConfig(join(dir, 'cfg'), { hostName: `b${nonce}`, payloads: { [`a${nonce}`]: 10, [`b${nonce}`]: 20 } });
    const seen: BuildProgress[] = [];
    const out = await buildAttribute(ctx, NIXOS_EXPR, ['-A', 'system', '-I', `nixos-config=${source}/configuration.nix`], (p) => seen.push(structuredClone(p)), () => new InstallError('build-failed', 'x', 'x'));
    expect(out).toMatch(/^\/nix\/store\/[0-9a-z]{32}-nixos-system-b/);
    // Two payloads, the configuration folder copy is a source, and the toplevel: three builds.
    expect(seen.at(-1)).toMatchObject({ done: 3, expected: 3 });
    expect(seen.some((p) => p.current.some((name) => name === `payload-a${nonce}`))).toBe(true);
    expect(seen.some((p) => p.current.some((name) => name.startsWith('nixos-system-b')))).toBe(true);
    // The builder's own output reaches the log as plain lines.
    expect(logged.some((l) => l.startsWith('[nix-store --realise] building \'/nix/store/'))).toBe(true);
    expect(logged.some((l) => l.includes('@nix'))).toBe(false);
  });
});

describe('copies', () => {
  it('say when each path of the closure starts and ends', async () => {
    const nonce = randomBytes(6).toString('hex');
    const source = await writeConfig(join(dir, 'cfg'), { hostName: `c${nonce}`, payloads: { [`p${nonce}`]: 1000 } });
    const out = await buildAttribute(ctx, NIXOS_EXPR, ['-A', 'system', '-I', `nixos-config=${source}/configuration.nix`], () => {}, () => new InstallError('build-failed', 'x', 'x'));
    const closure = await closureInfo(ctx, out);
    expect(closure.map((p) => p.path)).toContain(out);
    expect(closure.every((p) => p.narSize > 0)).toBe(true);
    const root = join(dir, 'root');
    await mkdir(root);
    const started: string[] = [];
    const finished: string[] = [];
    const copied = new Map<string, number>();
    const on = { started: (p: string) => started.push(p), copied: (p: string, bytes: number) => copied.set(p, Math.max(bytes, copied.get(p) ?? 0)), finished: (p: string) => finished.push(p) };
    await copyToTarget(ctx, root, out, on, () => new InstallError('copy-failed', 'x', 'x'));
    expect(started.sort()).toEqual(closure.map((p) => p.path).sort());
    expect(finished.sort()).toEqual(started);
    // Nix 2.26 and newer count each path's bytes up to its NAR size but for the NAR's closing tokens
    // (7 bytes on 2.26); 2.8 counts none (copy-closure samples the target).
    const counted = (await nixVersion(ctx)).atLeast(2, 26);
    expect([...copied.keys()].sort()).toEqual(counted ? closure.map((p) => p.path).sort() : []);
    for (const { path, narSize } of counted ? closure : []) expect(narSize - copied.get(path)!, path).toBeGreaterThanOrEqual(0);
    for (const { path, narSize } of counted ? closure : []) expect(narSize - copied.get(path)!, path).toBeLessThan(64);
  });
});

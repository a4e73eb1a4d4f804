// A fleet target's configuration as the seed packs it and the target unpacks it, with the real GNU tar:
// modes, links and empty folders kept, owners made root's, answer files left on the seed, and an
// archive that reaches outside its folder kept inside it.
import { execFileSync } from 'node:child_process';
import { chmod, chown, lstat, mkdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CommandContext } from '../../src/common/context.js';
import { packConfig, unpackConfig } from '../../src/stage/config-archive.js';
import { scratch } from '../helpers/env.js';

const lines: string[] = [];
const ctx: CommandContext = { signal: new AbortController().signal, log: () => undefined, output: (_source, line) => void lines.push(line), recentLines: () => [] };
let dir: string;

beforeAll(async () => {
  dir = await scratch('config-archive');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('packConfig and unpackConfig', () => {
  it('carry files, modes, links and empty folders, as root-owned entries, without the folders left out', async () => {
    const source = join(dir, 'source');
    await mkdir(join(source, 'modules', 'empty'), { recursive: true });
    await mkdir(join(source, 'fleet'));
    await writeFile(join(source, 'configuration.nix'), '{ ... }: { }\n');
    await writeFile(join(source, 'modules', 'secret.key'), 'k\n', { mode: 0o600 });
    await chmod(join(source, 'modules', 'secret.key'), 0o600);
    await writeFile(join(source, 'fleet', 'default.json'), '{"disk": "/dev/vda"}\n');
    await symlink('modules/secret.key', join(source, 'key-link'));
    // Owned by somebody else on the seed: root's on the target.
    await chown(join(source, 'configuration.nix'), 1234, 1234);
    const archive = join(dir, 'config.tar');
    await packConfig(ctx, source, archive, ['fleet']);
    const members = execFileSync('tar', ['--list', '--verbose', '--numeric-owner', `--file=${archive}`], { encoding: 'utf8' });
    expect(members).not.toContain('fleet');
    for (const line of members.trim().split('\n')) expect(line.split(/\s+/)[1], line).toBe('0/0');

    const target = join(dir, 'target');
    await mkdir(target, { mode: 0o700 });
    await unpackConfig(ctx, archive, target);
    expect(await readFile(join(target, 'configuration.nix'), 'utf8')).toBe('{ ... }: { }\n');
    expect((await stat(join(target, 'configuration.nix'))).uid).toBe(0);
    expect((await stat(join(target, 'modules', 'secret.key'))).mode & 0o777).toBe(0o600);
    expect(await readlink(join(target, 'key-link'))).toBe('modules/secret.key');
    expect((await lstat(join(target, 'modules', 'empty'))).isDirectory()).toBe(true);
    expect(existsSync(join(target, 'fleet'))).toBe(false);
  });

  it('takes a left-out path literally, not as a pattern, and only at the top', async () => {
    const source = join(dir, 'literal');
    await mkdir(join(source, 'a'), { recursive: true });
    await mkdir(join(source, 'sub', 'answers'), { recursive: true });
    await writeFile(join(source, 'a', 'x.nix'), '{ }\n');
    await writeFile(join(source, 'sub', 'answers', 'y.json'), '{}\n');
    const archive = join(dir, 'literal.tar');
    await packConfig(ctx, source, archive, ['*', 'answers']);
    const names = execFileSync('tar', ['--list', `--file=${archive}`], { encoding: 'utf8' }).trim().split('\n');
    expect(names).toEqual(expect.arrayContaining(['./a/x.nix', './sub/answers/y.json']));
  });

  it('keeps an archive that names paths outside its folder inside it', async () => {
    // Made by hand, as a damaged or hostile archive would be: an absolute name and one climbing out with "..".
    const evil = join(dir, 'evil');
    await mkdir(join(evil, 'in'), { recursive: true });
    await writeFile(join(evil, 'in', 'f'), 'x\n');
    const archive = join(dir, 'evil.tar');
    execFileSync('tar', ['--create', `--file=${archive}`, '--absolute-names', '--', join(evil, 'in', 'f'), `${join(evil, 'in')}/../in/f`]);
    await writeFile(join(evil, 'in', 'f'), 'original\n');
    const target = join(dir, 'evil-target');
    await mkdir(target, { mode: 0o700 });
    // GNU tar refuses the ".." member (exit 2) and strips the absolute name's leading slash.
    await unpackConfig(ctx, archive, target).catch(() => undefined);
    expect(existsSync(join(target, evil.slice(1), 'in', 'f'))).toBe(true);
    expect(lines.join('\n')).toMatch(/\.\./);
    expect(await readFile(join(target, evil.slice(1), 'in', 'f'), 'utf8')).toBe('x\n');
    expect(await readFile(join(evil, 'in', 'f'), 'utf8')).toBe('original\n');
  });
});

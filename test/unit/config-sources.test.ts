import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { describeSources, resolveSource } from '../../src/resolve/config-sources.js';
import { InstallError } from '../../src/step/install-error.js';
import { scratch } from '../helpers/env.js';

let dir: string;
beforeEach(async () => (dir = await scratch('sources')));
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('configuration sources', () => {
  it('the first folder with a configuration.nix wins', async () => {
    const tmp = join(dir, 'tmp-cfg');
    const iso = join(dir, 'iso-cfg');
    await mkdir(iso);
    await writeFile(join(iso, 'configuration.nix'), '{}');
    expect(resolveSource([tmp, iso])).toBe(iso);
    await mkdir(tmp);
    expect(resolveSource([tmp, iso])).toBe(iso);
    await writeFile(join(tmp, 'configuration.nix'), '{}');
    expect(resolveSource([tmp, iso])).toBe(tmp);
    expect(describeSources([tmp, iso])).toEqual([
      { dir: tmp, exists: true, hasConfiguration: true },
      { dir: iso, exists: true, hasConfiguration: true },
    ]);
  });

  it('a folder named configuration.nix does not count', async () => {
    await mkdir(join(dir, 'configuration.nix'), { recursive: true });
    expect(describeSources([dir])[0]!.hasConfiguration).toBe(false);
  });

  it('says what each folder lacks', async () => {
    const a = join(dir, 'a');
    await mkdir(a);
    const error = (() => {
      try {
        resolveSource([a, join(dir, 'b')]);
      } catch (e) {
        return e as InstallError;
      }
    })();
    expect(error).toBeInstanceOf(InstallError);
    expect(error!.code).toBe('config-incomplete');
    expect(error!.description).toContain(`${a}: exists but has no configuration.nix`);
    expect(error!.description).toContain(`${join(dir, 'b')}: does not exist`);
  });
});

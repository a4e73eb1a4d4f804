import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chooseSource, resolveSource } from '../../src/resolve/config-sources.js';
import { InstallError } from '../../src/common/install-error.js';
import { scratch } from '../helpers/env.js';

let dir: string;
beforeEach(async () => (dir = await scratch('sources')));
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('configuration sources', () => {
  it('the first folder that exists and is not empty is the one', async () => {
    const tmp = join(dir, 'tmp-cfg');
    const iso = join(dir, 'iso-cfg');
    await mkdir(iso);
    await writeFile(join(iso, 'configuration.nix'), '{}');
    expect(chooseSource([tmp, iso]).active).toBe(iso);
    await mkdir(tmp);
    // Empty: nobody's choice yet.
    expect(chooseSource([tmp, iso]).active).toBe(iso);
    await writeFile(join(tmp, 'configuration.nix'), '{}');
    expect(resolveSource(chooseSource([tmp, iso]))).toBe(tmp);
    expect(chooseSource([tmp, iso])).toEqual({
      active: tmp,
      problem: null,
      candidates: [
        { dir: tmp, exists: true, hasConfiguration: true },
        { dir: iso, exists: true, hasConfiguration: true },
      ],
    });
  });

  it('a first folder with files but no configuration.nix is refused, not passed over', async () => {
    const tmp = join(dir, 'tmp-cfg');
    const iso = join(dir, 'iso-cfg');
    await mkdir(iso);
    await writeFile(join(iso, 'configuration.nix'), '{}');
    await mkdir(join(tmp, 'mycfg'), { recursive: true });
    await writeFile(join(tmp, 'mycfg', 'configuration.nix'), '{}');
    const choice = chooseSource([tmp, iso]);
    expect(choice.active).toBeNull();
    expect(choice.problem).toMatchObject({ code: 'config-incomplete', title: `No configuration.nix at the top of ${tmp}` });
    expect(choice.problem!.description).toContain(`did you mean ${join(tmp, 'mycfg')}?`);
    expect(choice.problem!.description).toContain(`To install ${iso} instead, remove ${tmp}.`);
    expect(() => resolveSource(choice)).toThrow(InstallError);
  });

  it('a folder named configuration.nix does not count, nor does a nested one without configuration.nix', async () => {
    await mkdir(join(dir, 'configuration.nix'), { recursive: true });
    await mkdir(join(dir, 'other'));
    const choice = chooseSource([dir]);
    expect(choice.candidates[0]!.hasConfiguration).toBe(false);
    expect(choice.problem!.title).toBe(`No configuration.nix in ${dir}`);
    expect(choice.problem!.description).toContain('It holds: configuration.nix, other.');
  });

  it('a file where a folder should be is refused', async () => {
    await writeFile(join(dir, 'nix-cfg'), 'not a folder');
    expect(chooseSource([join(dir, 'nix-cfg'), dir]).problem!.title).toBe(`${join(dir, 'nix-cfg')} is not a folder`);
  });

  it('says what each folder is when none is usable', async () => {
    const a = join(dir, 'a');
    await mkdir(a);
    const error = (() => {
      try {
        resolveSource(chooseSource([a, join(dir, 'b')]));
      } catch (e) {
        return e as InstallError;
      }
    })();
    expect(error).toBeInstanceOf(InstallError);
    expect(error!.code).toBe('config-missing');
    expect(error!.description).toContain(`${a}: is empty`);
    expect(error!.description).toContain(`${join(dir, 'b')}: does not exist`);
  });
});

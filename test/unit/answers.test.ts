import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ANSWER_FIELDS, ENCRYPT_FIELDS, LAYOUT_FIELDS, REQUIRED_FIELDS, checkAnswers, cryptFormat, describeAnswers, parseSize } from '../../src/answers/answer-file.js';
import { AnswerError, LAYOUT_TYPES } from '../../src/common/answers.js';
import { readAnswers } from '../../src/answers/read-answers.js';
import { THEN_ACTIONS } from '../../src/protocol/vocabularies.js';
import { PASSWORD_HASH } from '../helpers/config.js';

const FILE = '/iso/nix-cfg/install.json';
const schema = JSON.parse(readFileSync(new URL('../../docs/answers.schema.json', import.meta.url), 'utf8'));
const SHA512 = PASSWORD_HASH;
const YESCRYPT = '$y$j9T$5vK1Zr4GzMaVv3xJqL8cN0$O8LtmR4x8x1ZyS7sA1vG2cQ3dE4fH5iJ6kL7mN8oP9q';

function refusal(value: unknown): AnswerError {
  try {
    checkAnswers(value, FILE);
  } catch (error) {
    if (error instanceof AnswerError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('the JSON Schema and the checker agree', () => {
  it('on the fields, the required ones, the layouts and the next steps', () => {
    expect(Object.keys(schema.properties).sort()).toEqual([...ANSWER_FIELDS].sort());
    expect(schema.required.sort()).toEqual([...REQUIRED_FIELDS].sort());
    expect(schema.additionalProperties).toBe(false);
    expect(schema.$defs.layoutType.enum).toEqual([...LAYOUT_TYPES]);
    const layoutObject = schema.properties.layout.oneOf[1];
    expect(Object.keys(layoutObject.properties).sort()).toEqual([...LAYOUT_FIELDS].sort());
    expect(Object.keys(layoutObject.properties.encrypt.properties)).toEqual([...ENCRYPT_FIELDS]);
    expect(schema.properties.then.enum).toEqual([...THEN_ACTIONS]);
    // The schema's patterns accept and refuse what the checker does.
    const swap = new RegExp(layoutObject.properties.swap.pattern);
    for (const size of ['8GiB', '512MiB', '1TiB', '8G', '0GiB', '1.5GiB', '8 GiB']) expect(swap.test(size)).toBe(parseSize(size) !== null);
    const hash = new RegExp(schema.properties.passwordHash.pattern);
    expect(hash.test(SHA512) && hash.test(YESCRYPT)).toBe(true);
    expect(hash.test('$1$abc$def') || hash.test('hunter2')).toBe(false);
  });
});

describe('checkAnswers', () => {
  it("takes host name, time zone, language and keyboard as Calamares' pages would, refusing what is not such a value", () => {
    const answers = checkAnswers({ disk: '/dev/sda', layout: 'bios-ext4', hostname: 'workshop-07', timezone: 'Europe/Berlin', locale: 'de_DE.UTF-8', keyboardLayout: 'de', keyboardVariant: 'nodeadkeys', consoleKeymap: 'de-latin1' }, FILE);
    expect(answers.choices).toEqual({ hostname: 'workshop-07', timezone: 'Europe/Berlin', locale: 'de_DE.UTF-8', keyboardLayout: 'de', keyboardVariant: 'nodeadkeys', keyboardVConsoleKeymap: 'de-latin1' });
    expect(() => checkAnswers({ disk: '/dev/sda', layout: 'bios-ext4', hostname: 'x"; evil = "' }, FILE)).toThrow(expect.objectContaining({ field: 'hostname' }));
    expect(() => checkAnswers({ disk: '/dev/sda', layout: 'bios-ext4', timezone: 7 }, FILE)).toThrow(expect.objectContaining({ field: 'timezone' }));
  });

  it('accepts a full answer file and fills the defaults', () => {
    const answers = checkAnswers({ $schema: './answers.schema.json', disk: '/dev/disk/by-id/nvme-X', layout: { type: 'efi-ext4', swap: '8GiB', encrypt: { passphraseFile: 'luks.txt' } }, wipe: true, user: 'alice', desktop: 'gnome', passwordHash: YESCRYPT, then: 'reboot' }, FILE);
    expect(answers).toEqual({
      file: FILE,
      disk: '/dev/disk/by-id/nvme-X',
      layout: { type: 'efi-ext4', swapBytes: 8 * 1024 ** 3, encrypt: { passphraseFile: '/iso/nix-cfg/luks.txt', passphraseBytes: 0 } },
      wipe: true,
      user: 'alice',
      desktop: 'gnome',
      passwordHash: YESCRYPT,
      then: 'reboot',
      choices: {},
    });
    expect(checkAnswers({ disk: '/dev/sda', layout: 'bios-ext4' }, FILE)).toEqual({ file: FILE, disk: '/dev/sda', layout: { type: 'bios-ext4', swapBytes: 0, encrypt: null }, wipe: false, then: 'stay', choices: {} });
    expect(checkAnswers({ disk: '/dev/sda', layout: 'bios-ext4', desktop: '' }, FILE).desktop).toBe('');
    // No layout: the configuration's disko layout, or a refusal once the configuration is known to have none (src/disk/disko.ts).
    expect(checkAnswers({ disk: '/dev/sda' }, FILE).layout).toBeNull();
  });

  it.each([
    [[], '(file)', /not a JSON object/],
    [{ layout: 'efi-ext4' }, 'disk', /"disk" is missing/],
    [{ disk: '/dev/sda', layout: 'efi-ext4', Wipe: true }, 'Wipe', /unknown field "Wipe"/],
    [{ disk: 7, layout: 'efi-ext4' }, 'disk', /"disk" must be a device path/],
    [{ disk: 'sda', layout: 'efi-ext4' }, 'disk', /must be a path under \/dev/],
    [{ disk: '/dev/sda', layout: ['efi-ext4'] }, 'layout', /"layout" must be a layout name or object/],
    [{ disk: '/dev/sda', layout: { swap: '1GiB' } }, 'layout.type', /"layout.type" is missing/],
    [{ disk: '/dev/sda', layout: { type: 'btrfs' } }, 'layout.type', /unknown layout "btrfs"/],
    [{ disk: '/dev/sda', layout: { type: 'efi-ext4', size: '1GiB' } }, 'layout.size', /unknown field "layout.size"/],
    [{ disk: '/dev/sda', layout: { type: 'efi-ext4', swap: '8GB' } }, 'layout.swap', /is not a size/],
    [{ disk: '/dev/sda', layout: { type: 'efi-ext4', swap: '8MiB' } }, 'layout.swap', /too small/],
    [{ disk: '/dev/sda', layout: { type: 'efi-ext4', encrypt: 'secret' } }, 'layout.encrypt', /must be an object/],
    [{ disk: '/dev/sda', layout: { type: 'efi-ext4', encrypt: { passphrase: 'secret' } } }, 'layout.encrypt.passphrase', /unknown field/],
    [{ disk: '/dev/sda', layout: { type: 'efi-ext4', encrypt: {} } }, 'layout.encrypt.passphraseFile', /is missing/],
    [{ disk: '/dev/sda', layout: 'efi-ext4', wipe: 1 }, 'wipe', /"wipe" must be true or false/],
    [{ disk: '/dev/sda', layout: 'efi-ext4', user: 'Alice' }, 'user', /not a login name/],
    [{ disk: '/dev/sda', layout: 'efi-ext4', desktop: 'GNOME' }, 'desktop', /not a desktop id/],
    [{ disk: '/dev/sda', layout: 'efi-ext4', user: 'alice', passwordHash: '$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0' }, 'passwordHash', /not a usable password hash/],
    [{ disk: '/dev/sda', layout: 'efi-ext4', passwordHash: SHA512 }, 'passwordHash', /needs "user"/],
    [{ disk: '/dev/sda', layout: 'efi-ext4', then: 'shutdown' }, 'then', /must be one of reboot, poweroff, stay/],
  ])('%j: names %s', (value, field, title) => {
    const error = refusal(value);
    expect(error.field).toBe(field);
    expect(error.code).toBe('answers-invalid');
    expect(error.title).toMatch(title);
    expect(error.title.startsWith(`${FILE}: `)).toBe(true);
    expect(error.description).toContain(`Fix "${field}" in ${FILE}`);
  });

  it('never repeats a password hash, right or wrong, in a message', () => {
    for (const hash of ['hunter2', '$1$saltsalt$2vnaRpHa6Jxjz5n83ok8Z0', `${SHA512.slice(0, -3)}`, 12345]) {
      const error = refusal({ disk: '/dev/sda', layout: 'efi-ext4', user: 'alice', passwordHash: hash });
      expect(`${error.title}\n${error.description}`).not.toContain(String(hash));
    }
    const answers = checkAnswers({ disk: '/dev/sda', layout: 'efi-ext4', user: 'alice', passwordHash: SHA512 }, FILE);
    expect(describeAnswers(answers)).not.toContain(SHA512);
    expect(describeAnswers(answers)).toContain('password set (hash not logged)');
  });

  it('knows the crypt formats', () => {
    expect(cryptFormat(SHA512)).toEqual({ name: 'sha-512' });
    expect(cryptFormat(YESCRYPT)).toEqual({ name: 'yescrypt' });
    expect(cryptFormat(`$2b$12$${'a'.repeat(53)}`)).toEqual({ name: 'bcrypt' });
    expect(cryptFormat('$6$rounds=5000$salt$' + 'b'.repeat(86))).toEqual({ name: 'sha-512' });
    expect(cryptFormat('abcdefghijklm')).toHaveProperty('problem');
    expect(cryptFormat('$6$salt$short')).toHaveProperty('problem');
  });
});

describe('readAnswers', () => {
  it('reads install.json from a folder, and the passphrase length less one newline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'noi-answers-'));
    await writeFile(join(dir, 'install.json'), JSON.stringify({ disk: '/dev/sda', layout: { type: 'bios-ext4', encrypt: { passphraseFile: 'key.txt' } } }));
    await writeFile(join(dir, 'key.txt'), 'correct horse\r\n');
    const answers = await readAnswers(dir);
    expect(answers.file).toBe(join(dir, 'install.json'));
    expect(answers.layout?.encrypt).toEqual({ passphraseFile: join(dir, 'key.txt'), passphraseBytes: 13 });
    await writeFile(join(dir, 'key.txt'), 'x'.repeat(513));
    await expect(readAnswers(dir)).rejects.toMatchObject({ field: 'layout.encrypt.passphraseFile', title: expect.stringMatching(/too long/) });
    await writeFile(join(dir, 'install.json'), '{"disk": "/dev/sda",\n "passwordHash": $6$secret }');
    const broken = await readAnswers(join(dir, 'install.json')).catch((e: AnswerError) => e);
    expect(broken).toMatchObject({ field: '(file)', title: `${join(dir, 'install.json')} is not valid JSON` });
    // Where, but not the text there: it may be the hash.
    expect((broken as AnswerError).description).toMatch(/^JSON syntax error( at line 2, column \d+)?\./);
    expect((broken as AnswerError).description).not.toContain('secret');
    await expect(readAnswers(join(dir, 'nothing.json'))).rejects.toMatchObject({ field: 'answers', title: expect.stringMatching(/cannot be read/) });
  });
});

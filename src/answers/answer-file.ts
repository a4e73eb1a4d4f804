// The answer file of an unattended install (install.json), checked field by
// field: each problem names the field, what was found and how to fix it.
// docs/answers.schema.json describes the same file for editors and people;
// test/unit/answers.test.ts keeps the two in step.
import { isAbsolute, resolve } from 'node:path';
import { THEN_ACTIONS, type ThenAction } from '../protocol/vocabularies.js';
import type { InstallChoices } from '../protocol/messages.js';
import { validChoice } from '../prepare/installer-choices.js';
import { AnswerError, LAYOUT_TYPES, type Answers, type Encryption, type Layout, type LayoutType } from '../common/answers.js';

export const ANSWER_FIELDS = ['$schema', 'disk', 'layout', 'wipe', 'user', 'desktop', 'passwordHash', 'then', 'hostname', 'timezone', 'locale', 'keyboardLayout', 'keyboardVariant', 'consoleKeymap'] as const;
// What Calamares' pages would have asked: answer-file field -> the installer choice it is (installer-choices.nix).
export const CHOICE_FIELDS = {
  hostname: { choice: 'hostname', example: '"workshop-07"' },
  timezone: { choice: 'timezone', example: '"Europe/Berlin"' },
  locale: { choice: 'locale', example: '"de_DE.UTF-8"' },
  keyboardLayout: { choice: 'keyboardLayout', example: '"de"' },
  keyboardVariant: { choice: 'keyboardVariant', example: '"nodeadkeys"' },
  consoleKeymap: { choice: 'keyboardVConsoleKeymap', example: '"de-latin1"' },
} as const;
// "layout" too, unless the configuration describes its disks with disko (checked once that is known: src/disk/disko.ts).
export const REQUIRED_FIELDS = ['disk'] as const;
export const LAYOUT_FIELDS = ['type', 'swap', 'encrypt'] as const;
export const ENCRYPT_FIELDS = ['passphraseFile'] as const;

export const MIN_SWAP_BYTES = 16 * 1024 ** 2;
const MAX_PATH_CHARS = 4096;
const SIZE_UNITS: Record<string, number> = { MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };
const SIZE = /^([1-9][0-9]{0,9})(MiB|GiB|TiB)$/;
// The same rules as the install request's (useradd's portable names, Calamares' desktop ids).
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const DESKTOP_ID = /^[a-z0-9-]{0,32}$/;

const B64 = '[./0-9A-Za-z]';
// The crypt(3) formats NixOS's login accepts (libxcrypt), by their prefix.
const CRYPT_FORMATS: { name: string; pattern: RegExp }[] = [
  { name: 'yescrypt', pattern: new RegExp(`^\\$y\\$${B64}+\\$${B64}{1,86}\\$${B64}{43}$`) },
  { name: 'gost-yescrypt', pattern: new RegExp(`^\\$gy\\$${B64}+\\$${B64}{1,86}\\$${B64}{43}$`) },
  { name: 'scrypt', pattern: new RegExp(`^\\$7\\$${B64}{14,}\\$${B64}{43}$`) },
  { name: 'bcrypt', pattern: new RegExp(`^\\$2[aby]\\$[0-9]{2}\\$${B64}{53}$`) },
  { name: 'sha-512', pattern: new RegExp(`^\\$6\\$(rounds=[0-9]{1,9}\\$)?${B64}{1,16}\\$${B64}{86}$`) },
  { name: 'sha-256', pattern: new RegExp(`^\\$5\\$(rounds=[0-9]{1,9}\\$)?${B64}{1,16}\\$${B64}{43}$`) },
];
const WEAK_CRYPT = /^(\$1\$|\$md5|\$sha1\$|_|[./0-9A-Za-z]{13}$)/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// A value as the person wrote it, short, for an error message.
function shown(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  return `a ${typeof value}`;
}

export function parseSize(text: string): number | null {
  const match = SIZE.exec(text);
  return match ? Number(match[1]) * SIZE_UNITS[match[2]!]! : null;
}

// The crypt format of a hash, or why it is refused. The hash itself is never part of a message.
export function cryptFormat(hash: string): { name: string } | { problem: string } {
  const format = CRYPT_FORMATS.find((f) => f.pattern.test(hash));
  if (format) return { name: format.name };
  if (WEAK_CRYPT.test(hash)) return { problem: 'it is an MD5, SHA-1 or DES crypt hash, which can be cracked quickly' };
  if (hash.startsWith('$')) return { problem: `its "${hash.split('$')[1]?.slice(0, 8) ?? ''}" format is not one NixOS's login reads, or the hash is cut short` };
  return { problem: 'it is not a crypt(3) hash (it must start with $y$, $6$, ...); a plain password does not belong in the answer file' };
}

export function checkAnswers(value: unknown, file: string): Answers {
  const problem = (field: string, title: string, fix: string) => new AnswerError(field, `${file}: ${title}`, `${fix}\nFix "${field}" in ${file} (its fields are described in docs/answers.schema.json), then start the install again. Nothing was written to any disk.`);
  const wrongType = (field: string, found: unknown, wanted: string, example: string) =>
    problem(field, `"${field}" must be ${wanted}`, `"${field}" is ${typeName(found)}${field === 'passwordHash' ? '' : ` (${shown(found)})`}; write ${wanted}, e.g. ${example}.`);

  if (!isRecord(value)) throw problem('(file)', 'the answer file is not a JSON object', `It holds ${typeName(value)}; an answer file is one JSON object such as {"disk": "/dev/disk/by-id/...", "layout": "efi-ext4"}.`);
  for (const key of Object.keys(value)) {
    if (!(ANSWER_FIELDS as readonly string[]).includes(key)) {
      throw problem(key.slice(0, 64), `unknown field "${key.slice(0, 64)}"`, `The answer file's fields are ${ANSWER_FIELDS.filter((f) => f !== '$schema').join(', ')}. Check the spelling, or remove "${key.slice(0, 64)}".`);
    }
  }
  for (const key of REQUIRED_FIELDS) {
    if (value[key] === undefined) throw problem(key, `"${key}" is missing`, 'Name the disk to install on, e.g. "disk": "/dev/disk/by-id/nvme-Samsung_SSD_980_1TB_S64ANS0T123456" (ls -l /dev/disk/by-id lists them).');
  }

  const { disk } = value;
  if (typeof disk !== 'string') throw wrongType('disk', disk, 'a device path', '"/dev/disk/by-id/ata-WDC_WD10EZEX-00BN5A0_WD-WCC3F1234567"');
  if (!disk.startsWith('/dev/') || disk.length > MAX_PATH_CHARS || /[\u0000-\u001f]/.test(disk)) {
    throw problem('disk', '"disk" must be a path under /dev', `"disk" is ${shown(disk)}; name a whole disk, e.g. "/dev/disk/by-id/..." (stable across boots) or "/dev/nvme0n1".`);
  }

  const layout = value.layout === undefined ? null : checkLayout(value.layout, file, problem, wrongType);

  const wipe = value.wipe ?? false;
  if (typeof wipe !== 'boolean') throw wrongType('wipe', wipe, 'true or false', 'true (to erase a disk that has partitions)');

  const { user, desktop, passwordHash } = value;
  if (user !== undefined && (typeof user !== 'string' || !USER_NAME.test(user))) {
    throw typeof user !== 'string' ? wrongType('user', user, 'a login name', '"alice"') : problem('user', '"user" is not a login name', `"user" is ${shown(user)}; a login name has lower-case letters, digits, "_" or "-", starts with a letter or "_", and has at most 32 characters.`);
  }
  if (desktop !== undefined && (typeof desktop !== 'string' || !DESKTOP_ID.test(desktop))) {
    throw typeof desktop !== 'string' ? wrongType('desktop', desktop, 'a desktop id', '"gnome"') : problem('desktop', '"desktop" is not a desktop id', `"desktop" is ${shown(desktop)}; write a Calamares desktop id such as "gnome", "plasma6" or "xfce", or "" for none.`);
  }
  if (passwordHash !== undefined) {
    if (typeof passwordHash !== 'string') throw wrongType('passwordHash', passwordHash, 'a crypt(3) hash', '"$y$j9T$..." from mkpasswd -m yescrypt');
    const format = cryptFormat(passwordHash);
    if ('problem' in format) throw problem('passwordHash', '"passwordHash" is not a usable password hash', `"passwordHash" is refused: ${format.problem}. Make one with: mkpasswd -m yescrypt (or mkpasswd -m sha-512), and paste its output.`);
    if (user === undefined) throw problem('passwordHash', '"passwordHash" needs "user"', 'The password is set for the user named in "user"; add "user" (a normal user the configuration declares), or remove "passwordHash".');
  }

  const then = value.then ?? 'stay';
  if (typeof then !== 'string' || !(THEN_ACTIONS as readonly string[]).includes(then)) {
    throw problem('then', `"then" must be one of ${THEN_ACTIONS.join(', ')}`, `"then" is ${shown(then)}; write "reboot", "poweroff" or "stay" (what the machine does after a successful install).`);
  }

  const choices: InstallChoices = {};
  for (const [field, { choice, example }] of Object.entries(CHOICE_FIELDS)) {
    const found = value[field];
    if (found === undefined) continue;
    if (typeof found !== 'string') throw wrongType(field, found, 'text', example);
    if (!validChoice(choice, found)) throw problem(field, `"${field}" is not a usable value`, `"${field}" is ${shown(found)}; write it as the installer would, e.g. ${example} (letters, digits and "-", "_", ".", "/" only).`);
    choices[choice] = found;
  }

  return {
    file,
    disk,
    layout,
    wipe,
    choices,
    ...(user !== undefined && { user: user as string }),
    ...(desktop !== undefined && { desktop: desktop as string }),
    ...(passwordHash !== undefined && { passwordHash: passwordHash as string }),
    then: then as ThenAction,
  };
}

type Problem = (field: string, title: string, fix: string) => AnswerError;
type WrongType = (field: string, found: unknown, wanted: string, example: string) => AnswerError;

function checkLayoutType(value: unknown, field: string, problem: Problem, wrongType: WrongType): LayoutType {
  if (typeof value !== 'string') throw wrongType(field, value, 'a layout name', '"efi-ext4"');
  if (!(LAYOUT_TYPES as readonly string[]).includes(value)) {
    throw problem(field, `unknown layout ${shown(value)}`, `The layouts are "efi-ext4" (GPT, 1 GiB EFI system partition, ext4 root; for UEFI machines) and "bios-ext4" (GPT with a BIOS boot partition, ext4 root; for legacy BIOS boot with GRUB).`);
  }
  return value as LayoutType;
}

function checkLayout(value: unknown, file: string, problem: Problem, wrongType: WrongType): Layout {
  if (typeof value === 'string') return { type: checkLayoutType(value, 'layout', problem, wrongType), swapBytes: 0, encrypt: null };
  if (!isRecord(value)) throw wrongType('layout', value, 'a layout name or object', '"efi-ext4" or {"type": "efi-ext4", "swap": "8GiB"}');
  for (const key of Object.keys(value)) {
    if (!(LAYOUT_FIELDS as readonly string[]).includes(key)) throw problem(`layout.${key.slice(0, 64)}`, `unknown field "layout.${key.slice(0, 64)}"`, `"layout" has the fields ${LAYOUT_FIELDS.join(', ')}. Check the spelling, or remove "${key.slice(0, 64)}".`);
  }
  if (value.type === undefined) throw problem('layout.type', '"layout.type" is missing', `Name the layout, e.g. "layout": {"type": "efi-ext4", ...} (${LAYOUT_TYPES.join(' or ')}).`);
  const type = checkLayoutType(value.type, 'layout.type', problem, wrongType);

  let swapBytes = 0;
  if (value.swap !== undefined) {
    if (typeof value.swap !== 'string') throw wrongType('layout.swap', value.swap, 'a size with a binary unit', '"8GiB" or "512MiB"');
    const size = parseSize(value.swap);
    if (size === null) throw problem('layout.swap', '"layout.swap" is not a size', `"layout.swap" is ${shown(value.swap)}; write a whole number and MiB, GiB or TiB, e.g. "8GiB" or "512MiB". Leave "swap" out for no swap partition.`);
    if (size < MIN_SWAP_BYTES) throw problem('layout.swap', '"layout.swap" is too small', `"layout.swap" is ${value.swap}; a swap partition needs at least 16MiB. Leave "swap" out for no swap partition.`);
    swapBytes = size;
  }

  let encrypt: Encryption | null = null;
  if (value.encrypt !== undefined) {
    const e = value.encrypt;
    if (!isRecord(e)) throw wrongType('layout.encrypt', e, 'an object', '{"passphraseFile": "luks-passphrase.txt"}');
    for (const key of Object.keys(e)) {
      if (!(ENCRYPT_FIELDS as readonly string[]).includes(key)) throw problem(`layout.encrypt.${key.slice(0, 64)}`, `unknown field "layout.encrypt.${key.slice(0, 64)}"`, `"layout.encrypt" has one field, passphraseFile: a file holding the passphrase (never the passphrase itself).`);
    }
    const path = e.passphraseFile;
    if (path === undefined) throw problem('layout.encrypt.passphraseFile', '"layout.encrypt.passphraseFile" is missing', 'Name the file that holds the LUKS passphrase, e.g. "passphraseFile": "luks-passphrase.txt" (relative to the answer file\'s folder).');
    if (typeof path !== 'string' || path.length === 0 || path.length > MAX_PATH_CHARS || path.includes('\0')) throw wrongType('layout.encrypt.passphraseFile', path, 'a file path', '"luks-passphrase.txt"');
    encrypt = { passphraseFile: isAbsolute(path) ? path : resolve(file, '..', path), passphraseBytes: 0 };
  }
  return { type, swapBytes, encrypt };
}

// The answers as the log may show them: the password hash is never written anywhere but the target's /etc/shadow.
export function describeAnswers(answers: Answers): string {
  const { layout } = answers;
  const parts = [
    `disk ${answers.disk}`,
    layout ? `layout ${layout.type}${layout.swapBytes > 0 ? ` with ${layout.swapBytes / 1024 ** 2} MiB swap` : ''}${layout.encrypt ? `, LUKS2-encrypted (passphrase in ${layout.encrypt.passphraseFile})` : ''}` : 'no layout (the configuration\'s disko layout)',
    `wipe ${answers.wipe}`,
    `user ${answers.user ?? '(none)'}`,
    `desktop ${answers.desktop === undefined ? '(not checked)' : answers.desktop === '' ? '(none)' : answers.desktop}`,
    `password ${answers.passwordHash ? 'set (hash not logged)' : 'not set'}`,
    `then ${answers.then}`,
  ];
  return parts.join('; ');
}

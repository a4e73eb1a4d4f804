// Checks a request frame's payload against the protocol before anything uses
// it. Nothing from the socket is evaluated; unknown fields are refused so a
// client learns at once that it speaks another version.
import { posix } from 'node:path';
import { CHOICE_KEYS, isRequestType, type RequestType } from '../protocol/vocabularies.js';
import { FLAKE_CONFIG_NAME } from '../nix/flake-config-name.js';
import { INTERFACE_NAME } from '../fleet/network.js';
import { seedUrl } from '../protocol/fleet.js';
import { PROTOCOL_VERSION, type InstallChoices, type PartitionInfo, type RequestError, type RequestMap } from '../protocol/messages.js';

export type ParsedRequest = { [K in RequestType]: { type: K; request: RequestMap[K] } }[RequestType];

export type ParseResult = { ok: true; value: ParsedRequest } | { ok: false; id: string; error: RequestError };

const MAX_ID_CHARS = 64;
const MAX_PATH_CHARS = 1024;
// The target root goes to nix copy, nix-store --store and nixos-install --root:
// only a plain path, which no tool can read as a store URI, option or pattern.
const PLAIN_PATH = /^\/[A-Za-z0-9._/-]*$/;
// useradd's rule for portable names (what Calamares' users page also enforces).
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const DESKTOP_ID = /^[a-z0-9-]{0,32}$/;
const MAX_PARTITIONS = 64;
const MAX_TEXT_CHARS = 256;
const PARTITION_STRINGS = ['device', 'mountPoint', 'fs', 'fsName', 'luksMapperName', 'uuid'] as const;

// Plain text of bounded length: no control characters.
function isText(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_TEXT_CHARS && !/[\u0000-\u001f\u007f]/.test(value);
}

// Why ROOT is not a plain, normalised absolute path, or null.
export function checkRoot(root: unknown): string | null {
  const rule = '"root" must be the absolute path of the mounted target, such as /mnt or /tmp/calamares-root-x1y2: letters, digits, ".", "_", "-" and "/" only, with no "." or ".." parts, no "//" and no "/" at the end';
  if (typeof root !== 'string') return `${rule}.`;
  const shown = JSON.stringify(root.length > 80 ? `${root.slice(0, 80)}…` : root);
  if (root.length > MAX_PATH_CHARS) return `${rule}; it is longer than ${MAX_PATH_CHARS} characters.`;
  if (!PLAIN_PATH.test(root)) return `${rule} (got ${shown}).`;
  const normal = posix.resolve(root);
  if (normal !== root) return `${rule} (got ${shown}; the plain form is ${JSON.stringify(normal)}).`;
  return null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// Returns the name of the first bad field, or the checked list.
function checkPartitions(value: unknown): PartitionInfo[] | string {
  if (!Array.isArray(value) || value.length > MAX_PARTITIONS) return 'partitions';
  const partitions: PartitionInfo[] = [];
  for (const [index, item] of value.entries()) {
    if (!isRecord(item)) return `partitions[${index}]`;
    const partition: PartitionInfo = {};
    for (const [key, field] of Object.entries(item)) {
      if (key === 'claimed') {
        if (typeof field !== 'boolean') return `partitions[${index}].claimed`;
        partition.claimed = field;
      } else if ((PARTITION_STRINGS as readonly string[]).includes(key)) {
        if (!isText(field)) return `partitions[${index}].${key}`;
        partition[key as (typeof PARTITION_STRINGS)[number]] = field;
      } else return `partitions[${index}].${key.slice(0, 64)}`;
    }
    partitions.push(partition);
  }
  return partitions;
}

function checkChoices(value: unknown): InstallChoices | string {
  if (!isRecord(value)) return 'choices';
  const choices: InstallChoices = {};
  for (const [key, field] of Object.entries(value)) {
    if (!(CHOICE_KEYS as readonly string[]).includes(key) || !isText(field)) return `choices.${key.slice(0, 64)}`;
    choices[key as (typeof CHOICE_KEYS)[number]] = field;
  }
  return choices;
}

function checkChoicesField(id: string, value: unknown): { choices: InstallChoices } | { error: ParseResult } {
  const checked = checkChoices(value);
  if (typeof checked === 'string') return { error: bad(id, checked, `"${checked}" is not a known choice or not plain text; choices are ${CHOICE_KEYS.join(', ')}, each at most ${MAX_TEXT_CHARS} characters.`) };
  return { choices: checked };
}

const FIELDS: Record<RequestType, readonly string[]> = {
  status: ['v', 'id', 'watch'],
  install: ['v', 'id', 'root', 'answers', 'user', 'desktop', 'partitions', 'choices', 'cancelOnDisconnect', 'flakeConfig', 'allowUnmounted', 'fleet'],
  cancel: ['v', 'id'],
  validate: ['v', 'id', 'user', 'desktop', 'flakeConfig', 'choices'],
  'fleet-serve': ['v', 'id', 'interface', 'address', 'answers', 'port', 'ipxe', 'netboot'],
};

function bad(id: string, field: string, description: string): ParseResult {
  return {
    ok: false,
    id,
    error: { code: 'bad-request', title: `Invalid request field "${field}"`, description, field },
  };
}

function checkFlakeConfig(id: string, value: unknown): { flakeConfig?: string } | { error: ParseResult } {
  if (value === undefined) return {};
  if (typeof value !== 'string' || !FLAKE_CONFIG_NAME.test(value)) return { error: bad(id, 'flakeConfig', '"flakeConfig" must be the name of one of the flake\'s nixosConfigurations: letters, digits, "_" or "-", at most 128 characters.') };
  return { flakeConfig: value };
}

function checkUserAndDesktop(id: string, user: unknown, desktop: unknown): { user?: string; desktop?: string } | { error: ParseResult } {
  if (user !== undefined && (typeof user !== 'string' || !USER_NAME.test(user))) {
    return { error: bad(id, 'user', '"user" must be a login name: lower-case letters, digits, "_" or "-", starting with a letter or "_", at most 32 characters.') };
  }
  if (desktop !== undefined && (typeof desktop !== 'string' || !DESKTOP_ID.test(desktop))) {
    return { error: bad(id, 'desktop', '"desktop" must be a Calamares desktop id such as "gnome", or "" for none.') };
  }
  return { ...(user !== undefined && { user: user as string }), ...(desktop !== undefined && { desktop: desktop as string }) };
}

// An unattended install names its answer file (and, for a flake, which of its
// configurations): the disk, user and desktop come from the file, and the daemon
// chooses where to mount the disk.
function checkUnattended(id: string, record: Record<string, unknown>): { answers: string } | { error: ParseResult } {
  const { answers } = record;
  if (typeof answers !== 'string' || !answers.startsWith('/') || answers.length > MAX_PATH_CHARS || answers.includes('\0')) {
    return { error: bad(id, 'answers', '"answers" must be the absolute path of an answer file (install.json) or of the folder holding it.') };
  }
  for (const key of ['root', 'user', 'desktop', 'partitions', 'choices', 'cancelOnDisconnect']) {
    if (record[key] !== undefined) return { error: bad(id, key, `"${key}" cannot be combined with "answers": an unattended install takes the disk, user and desktop from the answer file and mounts the disk itself.`) };
  }
  return { answers };
}

// A fleet target's install: the seed's URL and the fleet's secret, nothing else (the seed's answer file decides the rest).
function checkFleetInstall(id: string, record: Record<string, unknown>): ParseResult {
  const fleet = record.fleet as { url?: unknown; secret?: unknown } | null;
  const extra = Object.keys(record).find((key) => !['v', 'id', 'fleet'].includes(key));
  if (extra !== undefined) return bad(id, extra, `"${extra}" cannot be combined with "fleet": a fleet target installs what the seed's answer file says.`);
  if (fleet === null || typeof fleet !== 'object' || Object.keys(fleet).some((k) => k !== 'url' && k !== 'secret')) return bad(id, 'fleet', '"fleet" must be {"url": "http://<seed>:<port>", "secret": "<the fleet\'s secret>"}.');
  const url = typeof fleet.url === 'string' ? seedUrl(fleet.url) : null;
  if (url === null) return bad(id, 'fleet', '"fleet.url" must be the seed\'s URL as fleet serve printed it, e.g. http://10.77.0.1:8470.');
  if (typeof fleet.secret !== 'string' || !/^[!-~]{1,256}$/.test(fleet.secret)) return bad(id, 'fleet', '"fleet.secret" must be the fleet\'s secret as fleet serve printed it.');
  return { ok: true, value: { type: 'install', request: { v: PROTOCOL_VERSION, id, fleet: { url, secret: fleet.secret } } } };
}

// No control characters: the folders go into dnsmasq's configuration file, one per line.
const isAbsolutePath = (value: unknown): value is string => typeof value === 'string' && value.startsWith('/') && value.length <= MAX_PATH_CHARS && !/[\u0000-\u001f\u007f]/.test(value);

// The fleet's values as far as they can be checked without the machine: the interface and files are looked at when it starts.
function checkFleetServe(id: string, record: Record<string, unknown>): ParseResult {
  const { interface: name, address, answers, port, ipxe, netboot } = record;
  if (typeof name !== 'string' || !INTERFACE_NAME.test(name)) return bad(id, 'interface', '"interface" must be a network interface name such as enp3s0: letters, digits, ".", "_" or "-", at most 15 characters.');
  if (address !== undefined && (typeof address !== 'string' || !/^[0-9./]{1,18}$/.test(address))) return bad(id, 'address', '"address" must be an IPv4 address with its prefix length, e.g. 10.77.0.1/24.');
  if (port !== undefined && (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65535)) return bad(id, 'port', '"port" must be a TCP port number, 1 to 65535.');
  for (const [field, value] of [['answers', answers], ['ipxe', ipxe], ['netboot', netboot]] as const) {
    if ((value !== undefined || field === 'answers') && !isAbsolutePath(value)) return bad(id, field, `"${field}" must be the absolute path of a folder, with no control characters.`);
  }
  const request: RequestMap['fleet-serve'] = { v: PROTOCOL_VERSION, id, interface: name, answers: answers as string, ...(address !== undefined && { address: address as string }), ...(port !== undefined && { port: port as number }), ...(ipxe !== undefined && { ipxe: ipxe as string }), ...(netboot !== undefined && { netboot: netboot as string }) };
  return { ok: true, value: { type: 'fleet-serve', request } };
}

export function parseRequest(type: string, data: unknown): ParseResult {
  const record = isRecord(data) ? data : null;
  const id = record && typeof record.id === 'string' && record.id.length <= MAX_ID_CHARS ? record.id : '';
  if (!isRequestType(type)) {
    return {
      ok: false,
      id,
      error: {
        code: 'unknown-request',
        title: `Unknown request "${type.slice(0, 64)}"`,
        description: 'This daemon answers status, install, cancel, validate and fleet-serve. Check that the client and daemon come from the same release.',
      },
    };
  }
  if (!record) return bad(id, 'data', 'The request payload must be a JSON object.');
  if (record.v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      id,
      error: {
        code: 'unsupported-version',
        title: 'Protocol version mismatch',
        description: `The client speaks protocol version ${JSON.stringify(record.v)}; this daemon speaks ${PROTOCOL_VERSION}. Use the CLI and Calamares module shipped with this daemon.`,
        field: 'v',
      },
    };
  }
  if (typeof record.id !== 'string' || record.id.length === 0 || record.id.length > MAX_ID_CHARS) {
    return bad(id, 'id', `"id" must be a string of 1 to ${MAX_ID_CHARS} characters.`);
  }
  for (const key of Object.keys(record)) {
    if (!FIELDS[type].includes(key)) return bad(id, key, `"${key.slice(0, 64)}" is not a field of the ${type} request (fields: ${FIELDS[type].join(', ')}).`);
  }

  switch (type) {
    case 'status': {
      if (record.watch !== undefined && typeof record.watch !== 'boolean') return bad(id, 'watch', '"watch" must be true or false.');
      return { ok: true, value: { type, request: { v: PROTOCOL_VERSION, id, ...(record.watch !== undefined && { watch: record.watch as boolean }) } } };
    }
    case 'install': {
      const { root, answers, user, desktop, partitions, choices, cancelOnDisconnect, allowUnmounted } = record;
      if (record.fleet !== undefined) return checkFleetInstall(id, record);
      if (answers !== undefined) {
        const unattended = checkUnattended(id, record);
        if ('error' in unattended) return unattended.error;
        const flake = checkFlakeConfig(id, record.flakeConfig);
        if ('error' in flake) return flake.error;
        return { ok: true, value: { type, request: { v: PROTOCOL_VERSION, id, answers: unattended.answers, ...flake } } };
      }
      const rootProblem = checkRoot(root);
      if (rootProblem !== null) return bad(id, 'root', rootProblem);
      const choice = checkUserAndDesktop(id, user, desktop);
      if ('error' in choice) return choice.error;
      const flake = checkFlakeConfig(id, record.flakeConfig);
      if ('error' in flake) return flake.error;
      const request: RequestMap["install"] = { v: PROTOCOL_VERSION, id, root: root as string, ...choice, ...flake };
      if (partitions !== undefined) {
        const checked = checkPartitions(partitions);
        if (typeof checked === 'string') return bad(id, checked, `"${checked}" must be a list of at most ${MAX_PARTITIONS} partitions, each with claimed (true/false) and text fields ${PARTITION_STRINGS.join(', ')} of at most ${MAX_TEXT_CHARS} characters.`);
        request.partitions = checked;
      }
      if (choices !== undefined) {
        const checked = checkChoicesField(id, choices);
        if ('error' in checked) return checked.error;
        request.choices = checked.choices;
      }
      if (cancelOnDisconnect !== undefined) {
        if (typeof cancelOnDisconnect !== 'boolean') return bad(id, 'cancelOnDisconnect', '"cancelOnDisconnect" must be true or false.');
        request.cancelOnDisconnect = cancelOnDisconnect;
      }
      if (allowUnmounted !== undefined) {
        if (typeof allowUnmounted !== 'boolean') return bad(id, 'allowUnmounted', '"allowUnmounted" must be true or false.');
        request.allowUnmounted = allowUnmounted;
      }
      return { ok: true, value: { type, request } };
    }
    case 'cancel':
      return { ok: true, value: { type, request: { v: PROTOCOL_VERSION, id } } };
    case 'validate': {
      const choice = checkUserAndDesktop(id, record.user, record.desktop);
      if ('error' in choice) return choice.error;
      const flake = checkFlakeConfig(id, record.flakeConfig);
      if ('error' in flake) return flake.error;
      const request: RequestMap['validate'] = { v: PROTOCOL_VERSION, id, ...choice, ...flake };
      if (record.choices !== undefined) {
        const checked = checkChoicesField(id, record.choices);
        if ('error' in checked) return checked.error;
        request.choices = checked.choices;
      }
      return { ok: true, value: { type, request } };
    }
    case 'fleet-serve':
      return checkFleetServe(id, record);
  }
}

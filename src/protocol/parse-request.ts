// Checks a request frame's payload against the protocol before anything uses
// it. Nothing from the socket is evaluated; unknown fields are refused so a
// client learns at once that it speaks another version.
import {
  PROTOCOL_VERSION,
  isRequestType,
  type RequestError,
  type RequestMap,
  type RequestType,
} from './messages.js';

export type ParsedRequest = { [K in RequestType]: { type: K; request: RequestMap[K] } }[RequestType];

export type ParseResult = { ok: true; value: ParsedRequest } | { ok: false; id: string; error: RequestError };

const MAX_ID_CHARS = 64;
const MAX_PATH_CHARS = 4096;
// useradd's rule for portable names (what Calamares' users page also enforces).
const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const DESKTOP_ID = /^[a-z0-9-]{0,32}$/;

const FIELDS: Record<RequestType, readonly string[]> = {
  status: ['v', 'id', 'watch'],
  install: ['v', 'id', 'root', 'user', 'desktop'],
  cancel: ['v', 'id'],
};

function bad(id: string, field: string, description: string): ParseResult {
  return {
    ok: false,
    id,
    error: { code: 'bad-request', title: `Invalid request field "${field}"`, description, field },
  };
}

export function parseRequest(type: string, data: unknown): ParseResult {
  const record = data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : null;
  const id = record && typeof record.id === 'string' && record.id.length <= MAX_ID_CHARS ? record.id : '';
  if (!isRequestType(type)) {
    return {
      ok: false,
      id,
      error: {
        code: 'unknown-request',
        title: `Unknown request "${type.slice(0, 64)}"`,
        description: 'This daemon answers status, install and cancel. Check that the client and daemon come from the same release.',
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
      const { root, user, desktop } = record;
      if (typeof root !== 'string' || !root.startsWith('/') || root.length > MAX_PATH_CHARS || root.includes('\0')) {
        return bad(id, 'root', '"root" must be the absolute path of the mounted target, e.g. /mnt.');
      }
      if (user !== undefined && (typeof user !== 'string' || !USER_NAME.test(user))) {
        return bad(id, 'user', '"user" must be a login name: lower-case letters, digits, "_" or "-", starting with a letter or "_", at most 32 characters.');
      }
      if (desktop !== undefined && (typeof desktop !== 'string' || !DESKTOP_ID.test(desktop))) {
        return bad(id, 'desktop', '"desktop" must be a Calamares desktop id such as "gnome", or "" for none.');
      }
      const request: RequestMap['install'] = { v: PROTOCOL_VERSION, id, root };
      if (user !== undefined) request.user = user as string;
      if (desktop !== undefined) request.desktop = desktop as string;
      return { ok: true, value: { type, request } };
    }
    case 'cancel':
      return { ok: true, value: { type, request: { v: PROTOCOL_VERSION, id } } };
  }
}

// `fleet status`: asks a fleet's seed over HTTP (GET /targets, with the
// fleet's secret) and prints each target. The secret comes from --secret-file,
// else, on the seed itself as root, from the fleet's own state folder (--fleet-dir,
// NOI_FLEET_DIR or the table's).
import { readFile } from 'node:fs/promises';
import { FLEET_FILE, FLEET_TARGET_KEYS, fleetStateDir, secretInFile, type FleetStatus, type FleetTarget } from '../../protocol/fleet.js';
import type { FleetStatusFlags } from '../program.js';
import { EXIT } from '../usage.js';
import { print, printError, printJson } from './client-commands.js';


// The seed answers at once or not at all; a fleet on a folding table has no slow links.
const REQUEST_TIMEOUT_MS = 20_000;

type Problem = { exit: number; code: string; title: string; description: string };

function fail(flags: FleetStatusFlags, problem: Problem): number {
  if (flags.json) printJson('error', { code: problem.code, title: problem.title, description: problem.description });
  else printError(`error: ${problem.title}\n${problem.description}`);
  return problem.exit;
}

// The fleet's URL and secret: given, or the seed's own fleet (its state folder is root's).
async function fleetOf(flags: FleetStatusFlags): Promise<{ url: string; secret: string } | Problem> {
  if (flags.secretFile !== undefined) {
    const text = await readFile(flags.secretFile, 'utf8').catch((error: NodeJS.ErrnoException) => ({ error: error.code ?? error.message }));
    if (typeof text !== 'string') return { exit: EXIT.usage, code: 'usage', title: `--secret-file ${flags.secretFile} cannot be read (${text.error})`, description: 'Give a file holding the secret fleet serve printed (one line).' };
    const secret = secretInFile(text);
    if (secret === null) return { exit: EXIT.usage, code: 'usage', title: `--secret-file ${flags.secretFile} does not hold a secret`, description: 'It must hold the one-line secret fleet serve printed, nothing else.' };
    if (flags.fleet === undefined) return { exit: EXIT.usage, code: 'usage', title: '--secret-file needs --fleet', description: 'Name the seed, e.g. --fleet http://10.77.0.1:8470 (fleet serve prints it).' };
    return { url: flags.fleet, secret };
  }
  const file = `${flags.fleetDir ?? fleetStateDir()}/${FLEET_FILE}`;
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => error.code ?? 'unreadable');
  const own = (() => {
    try {
      return JSON.parse(text) as { url: string; secret: string };
    } catch {
      return null;
    }
  })();
  if (!own) {
    const why = text === 'EACCES' ? `${file} is root's: run it with sudo on the seed` : `this machine serves no fleet (${file}: ${text.length < 16 ? text : 'not a fleet file'})`;
    return { exit: EXIT.usage, code: 'usage', title: "The fleet's secret is not known", description: `${why}; elsewhere give --fleet URL and --secret-file FILE holding the secret fleet serve printed.` };
  }
  if (flags.fleet !== undefined && flags.fleet !== own.url) return { exit: EXIT.usage, code: 'usage', title: `This seed serves ${own.url}, not ${flags.fleet}`, description: 'For another seed give --secret-file FILE holding the secret its fleet serve printed.' };
  return own;
}

function percent(fraction: number): string {
  return `${Math.floor(fraction * 100)} %`;
}

function megabytes(bytes: number): string {
  return bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`;
}

export function targetLine(target: FleetTarget): string {
  const parts = [target.mac, target.state];
  if (target.phase) parts.push(`${target.phase} ${percent(target.fraction)}`);
  if (target.copyStartedMs !== null) {
    const seconds = ((target.copyEndedMs ?? Date.now()) - target.copyStartedMs) / 1000;
    parts.push(`${megabytes(target.bytesCopied)} copied in ${Math.max(0, Math.round(seconds))} s`);
  }
  if (target.receipt) parts.push(`receipt ${target.receipt}`);
  const line = parts.join('  ');
  return target.error ? `${line}\n    ${target.error.title}\n    ${target.error.description.replaceAll('\n', '\n    ')}` : line;
}

export function fleetStatusText(url: string, status: FleetStatus): string {
  const counts = new Map<string, number>();
  for (const t of status.targets) counts.set(t.state, (counts.get(t.state) ?? 0) + 1);
  const summary = status.targets.length === 0 ? 'no target has registered yet' : [...counts].map(([state, n]) => `${n} ${state}`).join(', ');
  return [`fleet ${url}: ${summary}`, ...status.targets.map(targetLine)].join('\n');
}

export async function runFleetStatus(flags: FleetStatusFlags): Promise<number> {
  const fleet = await fleetOf(flags);
  if ('exit' in fleet) return fail(flags, fleet);
  let response: Response;
  try {
    response = await fetch(`${fleet.url.replace(/\/$/, '')}/targets`, { headers: { authorization: `Bearer ${fleet.secret}` }, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    return fail(flags, { exit: EXIT.unavailable, code: 'fleet-unavailable', title: `The seed at ${fleet.url} does not answer`, description: `${cause}. Is fleet serve running there, and is this machine on its network?` });
  }
  const body = (await response.json().catch(() => null)) as (FleetStatus & { error?: { title: string; description: string } }) | null;
  if (!response.ok || !body || !Array.isArray(body.targets)) {
    const why = body?.error ? `${body.error.title}: ${body.error.description}` : `it answered ${response.status}`;
    return fail(flags, { exit: EXIT.refused, code: 'fleet-refused', title: `The seed at ${fleet.url} refused the status`, description: why });
  }
  // Exactly the keys the status JSON promises, in their order.
  const targets = body.targets.map((t) => Object.fromEntries(FLEET_TARGET_KEYS.map((key) => [key, t[key] ?? null])) as unknown as FleetTarget);
  if (flags.json) print(JSON.stringify({ targets }));
  else print(fleetStatusText(fleet.url, { targets }));
  return EXIT.ok;
}

// status, validate, install and cancel: clients of the daemon's socket. Text
// for people (the configuration folder first; colour and the redrawn bar only
// on a terminal), or one JSON object per line with --json.
import { DaemonClient, DaemonUnavailable } from '../../client/daemon-client.js';
import { INSTALLER_DEFAULTS } from '../../protocol/installer-defaults.js';
import { secretInFile } from '../../protocol/fleet.js';
import type { CancelEnded, InstallRequest, ReplyEvent, ResultEvent } from '../../protocol/messages.js';
import type { ClientFlags, InstallFlags, ValidateFlags } from '../program.js';
import { eventPrinter } from '../event-printer.js';
import { sourceLine, statusText, validationText } from '../render.js';
import { isTerminal, styleFor } from '../terminal.js';
import { EXIT, UsageError } from '../usage.js';
import { readFile } from 'node:fs/promises';

const tty = isTerminal(process.stdout);
const STARTED_AT = Date.now();
const style = styleFor(process.stdout);
const errorStyle = styleFor(process.stderr);

// stdout is gathered until the event loop turns: a burst of log events is one write, not one per line.
let pending = '';
const flushStdout = () => {
  if (pending) process.stdout.write(pending);
  pending = '';
};
const write = (text: string) => {
  if (!pending) setImmediate(flushStdout);
  pending += text;
};
export const print = (line: string) => write(`${line}\n`);
export const printError = (line: string) => {
  flushStdout();
  process.stderr.write(`${errorStyle.red(line)}\n`);
};
export const printJson = (type: string, data: unknown) => print(JSON.stringify({ type, data }));

// Request fields a person typed as options: a bad one is a usage error naming the option.
const OPTION_OF_FIELD: Record<string, string> = { root: '--root', user: '--user', desktop: '--desktop' };

export async function connect(flags: ClientFlags): Promise<DaemonClient | number> {
  try {
    return await DaemonClient.connect(flags.socket);
  } catch (error) {
    if (!(error instanceof DaemonUnavailable)) throw error;
    if (flags.json) printJson('error', { code: 'daemon-unavailable', title: 'The installer daemon is not available', description: error.message });
    else printError(`error: ${error.message}`);
    return EXIT.unavailable;
  }
}

export function refused(flags: ClientFlags, reply: ReplyEvent): number {
  if (reply.ok) return EXIT.ok;
  const option = reply.error.code === 'bad-request' && reply.error.field ? OPTION_OF_FIELD[reply.error.field] : undefined;
  if (!flags.json) printError(option ? `error: ${option}: ${reply.error.description}` : `error: ${reply.error.title}\n${reply.error.description}`);
  return option ? EXIT.usage : EXIT.refused;
}

export async function runStatus(flags: ClientFlags & { watch: boolean; verbose?: boolean }): Promise<number> {
  const client = await connect(flags);
  if (typeof client === 'number') return client;
  // Printed as it arrives, before events that may come in the same read (awaiting the request would print them first).
  client.on('reply', (reply) => {
    if (reply.request !== 'status') return;
    if (flags.json) printJson('reply', reply);
    else if (reply.ok && reply.status) print(statusText(reply.status, style));
  });
  if (flags.watch) attachPrinters(client, flags);
  const reply = await client.request('status', flags.watch ? { watch: true } : {});
  if (!flags.watch || !reply.ok) {
    client.close();
    return refused(flags, reply);
  }
  return new Promise((resolve) => {
    // Ctrl-C is how a watch ends: leaving is not the daemon going away.
    let leaving = false;
    process.once('SIGINT', () => {
      leaving = true;
      resolve(EXIT.ok);
      client.close();
    });
    client.onClose(() => {
      if (leaving) return;
      if (!flags.json) printError('error: the daemon closed the connection (it stopped); see journalctl -u nixos-offline-installer');
      resolve(EXIT.unavailable);
    });
  });
}

function attachPrinters(client: DaemonClient, flags: ClientFlags & { verbose?: boolean }): void {
  if (flags.json) {
    for (const type of ['phase', 'progress', 'log', 'result', 'validation'] as const) client.on(type, (data) => printJson(type, data));
    return;
  }
  const printer = eventPrinter({ tty, verbose: flags.verbose === true, style, columns: () => process.stdout.columns || 80, write, startedAt: STARTED_AT });
  for (const type of ['phase', 'progress', 'log', 'result', 'validation'] as const) client.on(type, (data) => printer[type](data as never));
}

// What the install request carries from the command line.
// The fleet's secret: the file given, else the kernel command line a netbooted target was started with.
async function fleetSecret(flags: InstallFlags): Promise<string> {
  const file = flags.secretFile ?? '/proc/cmdline';
  const text = await readFile(file, 'utf8').catch(() => '');
  const param = INSTALLER_DEFAULTS.fleet.secretParam;
  const secret = flags.secretFile ? secretInFile(text) : (text.split(/\s+/).find((word) => word.startsWith(`${param}=`))?.slice(param.length + 1) || null);
  if (!secret) throw new UsageError(flags.secretFile ? `error: --secret-file ${file} holds no secret` : `error: --fleet needs the fleet's secret: --secret-file FILE, or ${param}= on the kernel command line (a netbooted target has it)`);
  return secret;
}

async function installFields(flags: InstallFlags): Promise<Omit<InstallRequest, 'v' | 'id'>> {
  if (flags.fleet !== undefined) return { fleet: { url: flags.fleet.replace(/\/$/, ''), secret: await fleetSecret(flags) } };
  const flake = flags.flakeConfig !== undefined ? { flakeConfig: flags.flakeConfig } : {};
  if (flags.answers !== undefined) return { answers: flags.answers, ...flake };
  return { root: flags.root!, ...(flags.user !== undefined && { user: flags.user }), ...(flags.desktop !== undefined && { desktop: flags.desktop }), ...(flags.flakeConfig !== undefined && { flakeConfig: flags.flakeConfig }), ...(flags.allowUnmounted && { allowUnmounted: true }) };
}

export async function runInstallCommand(flags: InstallFlags): Promise<number> {
  const client = await connect(flags);
  if (typeof client === 'number') return client;
  // The reply (or, on a terminal, the folder it names) goes first, before any event of the install:
  // they may arrive in the same read, and awaiting the request would print its events first.
  client.on('reply', (reply) => {
    if (reply.request !== 'install') return;
    if (flags.json) printJson('reply', reply);
    else if (reply.ok) print(sourceLine(reply.source ?? null));
  });
  attachPrinters(client, flags);
  const result = new Promise<ResultEvent | null>((resolve) => {
    client.on('result', resolve);
    client.onClose(() => resolve(null));
  });
  const reply = await client.request('install', await installFields(flags));
  if (!reply.ok) {
    client.close();
    return refused(flags, reply);
  }
  // Ctrl-C cancels the install (the daemon ends its child processes); a second one just leaves.
  let interrupted = false;
  const onInterrupt = () => {
    if (interrupted) {
      flushStdout();
      process.exit(EXIT.cancelled);
    }
    interrupted = true;
    printError('\ncancelling the install (Ctrl-C again to leave without waiting)...');
    void client.request('cancel', {}).catch(() => undefined);
  };
  process.on('SIGINT', onInterrupt);
  const final = await result;
  process.off('SIGINT', onInterrupt);
  client.close();
  if (final === null) {
    const message = 'the daemon stopped during the install; see journalctl -u nixos-offline-installer for why';
    if (flags.json) printJson('error', { code: 'daemon-lost', title: 'The installer daemon stopped', description: message });
    else printError(`error: ${message}`);
    return EXIT.unavailable;
  }
  if (final.ok) return EXIT.ok;
  if (final.state === 'cancelled') return EXIT.cancelled;
  return final.error?.code === 'service-stopped' ? EXIT.unavailable : EXIT.failed;
}

export async function runCancel(flags: ClientFlags): Promise<number> {
  const client = await connect(flags);
  if (typeof client === 'number') return client;
  const reply = await client.request('cancel', {});
  client.close();
  if (flags.json) printJson('reply', reply);
  else if (reply.ok) print(cancelMessage(reply.ended));
  return refused(flags, reply);
}

// What root's cancel ended says so: a fleet ends at once, an install within seconds (an older daemon says neither).
function cancelMessage(ended: CancelEnded | undefined): string {
  const install = 'cancel requested; the install stops within a few seconds';
  const fleet = 'the fleet was ended (its DHCP, TFTP, HTTP and store servers stopped; fleet serve exits)';
  if (!ended || (ended.install && !ended.fleet)) return install;
  return ended.install ? `${fleet}; ${install}` : fleet;
}

export async function runValidate(flags: ValidateFlags): Promise<number> {
  const client = await connect(flags);
  if (typeof client === 'number') return client;
  const reply = await client.request('validate', { ...(flags.user !== undefined && { user: flags.user }), ...(flags.desktop !== undefined && { desktop: flags.desktop }), ...(flags.flakeConfig !== undefined && { flakeConfig: flags.flakeConfig }) });
  client.close();
  if (flags.json) printJson('reply', reply);
  if (!reply.ok || !reply.validation) return refused(flags, reply);
  if (!flags.json) print(validationText(reply.validation, style));
  return reply.validation.ok ? EXIT.ok : EXIT.failed;
}

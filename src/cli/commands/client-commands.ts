// status, install and cancel: clients of the daemon's socket.
import { DaemonClient, DaemonUnavailable } from '../../client/daemon-client.js';
import type { ReplyEvent, ResultEvent } from '../../protocol/messages.js';
import { logLines, phaseLine, progressBar, resultText, statusText, validationSummary, validationText } from '../render.js';
import { EXIT } from '../usage.js';

export interface ClientFlags {
  socket: string;
  json: boolean;
}

type Print = (line: string) => void;
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
const print: Print = (line) => write(`${line}\n`);
const printError: Print = (line) => {
  flushStdout();
  process.stderr.write(`${line}\n`);
};

async function connect(flags: ClientFlags): Promise<DaemonClient | number> {
  try {
    return await DaemonClient.connect(flags.socket);
  } catch (error) {
    if (!(error instanceof DaemonUnavailable)) throw error;
    if (flags.json) print(JSON.stringify({ type: 'error', data: { code: 'daemon-unavailable', title: 'The installer daemon is not available', description: error.message } }));
    else printError(`error: ${error.message}`);
    return EXIT.unavailable;
  }
}

function refused(flags: ClientFlags, reply: ReplyEvent): number {
  if (reply.ok) return EXIT.ok;
  if (!flags.json) printError(`error: ${reply.error.title}\n${reply.error.description}`);
  return EXIT.refused;
}

export async function runStatus(flags: ClientFlags & { watch: boolean }): Promise<number> {
  const client = await connect(flags);
  if (typeof client === 'number') return client;
  if (flags.watch) attachPrinters(client, flags, process.stdout.isTTY === true);
  const reply = await client.request('status', flags.watch ? { watch: true } : {});
  if (flags.json) print(JSON.stringify({ type: 'reply', data: reply }));
  else if (reply.ok && reply.status) print(statusText(reply.status));
  if (!flags.watch || !reply.ok) {
    client.close();
    return refused(flags, reply);
  }
  return new Promise((resolve) => {
    client.onClose(() => resolve(EXIT.unavailable));
    process.once('SIGINT', () => {
      client.close();
      resolve(EXIT.ok);
    });
  });
}

function attachPrinters(client: DaemonClient, flags: ClientFlags, tty: boolean): void {
  if (flags.json) {
    for (const type of ['phase', 'progress', 'log', 'result', 'validation'] as const) client.on(type, (data) => print(JSON.stringify({ type, data })));
    return;
  }
  client.on('validation', (event) => print(`check: ${validationSummary(event)}`));
  let barShown = false;
  let lastPercent = -1;
  const clearBar = () => {
    if (barShown) write('\r\x1b[2K');
    barShown = false;
  };
  client.on('phase', (event) => {
    clearBar();
    print(phaseLine(event));
  });
  client.on('progress', (event) => {
    if (tty) {
      write(`\r\x1b[2K${progressBar(event)}`);
      barShown = true;
      return;
    }
    const percent = Math.floor(event.fraction * 10) * 10;
    if (percent > lastPercent) print(progressBar(event));
    lastPercent = Math.max(lastPercent, percent);
  });
  // A terminal shows the bar; the full output is in the log. Pipes get every line.
  if (!tty) client.on('log', (event) => print(logLines(event)));
  client.on('result', (event) => {
    clearBar();
    print(resultText(event));
  });
}

export async function runInstallCommand(flags: ClientFlags & ({ root: string; user?: string; desktop?: string } | { answers: string })): Promise<number> {
  const client = await connect(flags);
  if (typeof client === 'number') return client;
  attachPrinters(client, flags, process.stdout.isTTY === true);
  const result = new Promise<ResultEvent | null>((resolve) => {
    client.on('result', resolve);
    client.onClose(() => resolve(null));
  });
  const fields =
    'answers' in flags
      ? { answers: flags.answers }
      : { root: flags.root, ...(flags.user !== undefined && { user: flags.user }), ...(flags.desktop !== undefined && { desktop: flags.desktop }) };
  const reply = await client.request('install', fields);
  if (flags.json) print(JSON.stringify({ type: 'reply', data: reply }));
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
    if (flags.json) print(JSON.stringify({ type: 'error', data: { code: 'daemon-lost', title: 'The installer daemon stopped', description: message } }));
    else printError(`error: ${message}`);
    return EXIT.unavailable;
  }
  return final.ok ? EXIT.ok : final.state === 'cancelled' ? EXIT.cancelled : EXIT.failed;
}

export async function runCancel(flags: ClientFlags): Promise<number> {
  const client = await connect(flags);
  if (typeof client === 'number') return client;
  const reply = await client.request('cancel', {});
  client.close();
  if (flags.json) print(JSON.stringify({ type: 'reply', data: reply }));
  else if (reply.ok) print('cancel requested; the install stops within a few seconds');
  return refused(flags, reply);
}

export async function runValidate(flags: ClientFlags & { user?: string; desktop?: string }): Promise<number> {
  const client = await connect(flags);
  if (typeof client === 'number') return client;
  const reply = await client.request('validate', { ...(flags.user !== undefined && { user: flags.user }), ...(flags.desktop !== undefined && { desktop: flags.desktop }) });
  client.close();
  if (flags.json) print(JSON.stringify({ type: 'reply', data: reply }));
  if (!reply.ok || !reply.validation) return refused(flags, reply);
  if (!flags.json) print(validationText(reply.validation));
  return reply.validation.ok ? EXIT.ok : EXIT.failed;
}

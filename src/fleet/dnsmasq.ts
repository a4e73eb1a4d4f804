// Runs dnsmasq for a fleet, in the foreground as a child of the daemon (its own
// process group, ended with the fleet), with only the configuration file the
// fleet wrote: the system's /etc/dnsmasq.conf is never read.
import { runChild, type ChildResult } from '../process/run-child.js';
import { FleetError } from './fleet-error.js';

// dnsmasq says this once DHCP and TFTP are set up, the last of its start-up lines.
const READY = /TFTP root is /;
const START_TIMEOUT_MS = 15_000;
const KEPT_LINES = 20;

export interface RunningDnsmasq {
  // Resolves when dnsmasq has exited (after the fleet's signal ended it, or on its own).
  exited: Promise<ChildResult>;
}

export function dnsmasqArgs(configFile: string): string[] {
  // dnsmasq takes no operands, so there is no "--" to end its options; the file name is one option's value.
  return ['--keep-in-foreground', '--log-facility=-', `--conf-file=${configFile}`];
}

export async function startDnsmasq(configFile: string, signal: AbortSignal, log: (line: string) => void): Promise<RunningDnsmasq> {
  const recent: string[] = [];
  let ready: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (ready = resolve));
  const exited = runChild({
    file: 'dnsmasq',
    args: dnsmasqArgs(configFile),
    signal,
    onLine: (line) => {
      recent.push(line);
      if (recent.length > KEPT_LINES) recent.shift();
      log(line);
      if (READY.test(line)) ready();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    started.then(() => 'ready' as const),
    exited.then((result) => result),
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), START_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (outcome === 'ready') return { exited };
  const why = outcome === 'timeout' ? `it did not finish starting within ${START_TIMEOUT_MS / 1000} s` : outcome.spawnError ? `it could not be started (${outcome.spawnError}); is dnsmasq installed?` : `it exited with status ${outcome.exitCode ?? outcome.signal}`;
  throw new FleetError('interface', 'dnsmasq did not start', `${why}. What it said:\n${recent.join('\n') || '(nothing)'}\nAnother DHCP or TFTP server on this machine (ports 67 and 69) stops it; end that one, or serve the fleet on another interface.`);
}

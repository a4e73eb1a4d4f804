// `fleet serve`: asks the daemon to serve a fleet on one interface, says where
// and with which secret, and keeps the connection open: the fleet is served
// until Ctrl-C (closing the connection ends it).
import { livePageUrl, type FleetInfo } from '../../protocol/fleet.js';
import type { FleetServeFlags } from '../program.js';
import { EXIT } from '../usage.js';
import { connect, print, printError, printJson, refused } from './client-commands.js';

export function fleetText(fleet: FleetInfo): string {
  return [
    `fleet served at ${fleet.url} on ${fleet.interface} (${fleet.address})`,
    fleet.range ? `  DHCP: ${fleet.range.start} to ${fleet.range.end}` : "  DHCP: proxy, beside the network's own DHCP server",
    `  store: ssh-ng on ${fleet.url.replace(/^http:\/\/|:[0-9]+$/g, '')} port ${fleet.storePort} (sshd, for the targets' copies)`,
    `  state: ${fleet.stateDir}`,
    `  secret: ${fleet.secret}`,
    `  live page: ${livePageUrl(fleet.url, fleet.secret)} (a browser on the fleet's network; the secret after # is never sent)`,
    '  Ctrl-C ends the fleet.',
  ].join('\n');
}

export async function runFleetServe(flags: FleetServeFlags): Promise<number> {
  const client = await connect(flags);
  if (typeof client === 'number') return client;
  const { socket: _socket, json: _json, ...fields } = flags;
  const reply = await client.request('fleet-serve', fields);
  if (flags.json) printJson('reply', reply);
  if (!reply.ok || !reply.fleet) {
    client.close();
    return refused(flags, reply);
  }
  if (!flags.json) print(fleetText(reply.fleet));
  return new Promise((resolve) => {
    let leaving = false;
    process.once('SIGINT', () => {
      leaving = true;
      client.close();
      resolve(EXIT.ok);
    });
    client.onClose(() => {
      if (leaving) return;
      if (!flags.json) printError('error: the fleet ended: the daemon closed the connection (it stopped, a cancel request ended the fleet, or one of its servers ended); journalctl -u nixos-offline-installer says why');
      resolve(EXIT.unavailable);
    });
  });
}

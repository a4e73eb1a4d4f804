// dnsmasq for a fleet, in the foreground, with only the configuration file the
// fleet wrote: the system's /etc/dnsmasq.conf is never read. It starts as root
// (ports 67 and 69) and drops to the fleet's user itself (dnsmasq-config.ts).
import type { FleetUnitMode, UnitProperty } from './fleet-units.js';
import { DHCP_UNIT } from './fleet-units.js';
import { findProgram, startServer, type ServerProcess } from './server-process.js';

export function dnsmasqArgs(configFile: string): string[] {
  // dnsmasq takes no operands, so there is no "--" to end its options; the file name is one option's value.
  return ['--keep-in-foreground', '--log-facility=-', `--conf-file=${configFile}`];
}

export function startDnsmasq(configFile: string, mode: FleetUnitMode, properties: UnitProperty[], signal: AbortSignal, log: (line: string) => void): Promise<ServerProcess> {
  return startServer({
    what: 'dnsmasq',
    field: 'interface',
    hint: 'Another DHCP or TFTP server on this machine (ports 67 and 69) stops it; end that one, or serve the fleet on another interface.',
    command: [findProgram('dnsmasq', 'interface', "The fleet's DHCP and TFTP server is dnsmasq: install it (Debian: dnsmasq-base; the NixOS module puts it on the daemon's PATH)."), ...dnsmasqArgs(configFile)],
    // dnsmasq says this once DHCP and TFTP are set up, the last of its start-up lines.
    ready: /TFTP root is /,
    mode,
    unit: DHCP_UNIT,
    properties,
    signal,
    log,
  });
}

// The seed's address on the fleet's interface, and the DHCP range derived
// from it: IPv4 only, as PXE ROMs speak it.
import { networkInterfaces } from 'node:os';
import { isIpv4, toAddress, toNumber } from '../protocol/ipv4.js';
import { FleetError } from './fleet-error.js';

export interface Ipv4Network {
  address: string;
  prefix: number;
}

// A /25 leaves 63 addresses to lease, more than the 50 machines a fleet is made for.
const MAX_PREFIX = 25;
const MIN_PREFIX = 8;
// Linux's rule for interface names (IFNAMSIZ 16, no "/", no spaces), narrowed to what names usually hold.
export const INTERFACE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;

// "10.77.0.1/24" as the seed's address and its network's prefix; the reason when it is not one.
export function parseCidr(text: string): Ipv4Network {
  const [address, prefixText, extra] = text.split('/');
  const example = 'e.g. --address 10.77.0.1/24 (the seed\'s own address on the interface and the network\'s prefix length)';
  if (extra !== undefined || address === undefined || prefixText === undefined || !isIpv4(address) || !/^\d{1,2}$/.test(prefixText)) {
    throw new FleetError('address', `"${text.slice(0, 64)}" is not an IPv4 address with a prefix length`, `Give the seed's address as ADDRESS/PREFIX, ${example}.`);
  }
  const prefix = Number(prefixText);
  if (prefix < MIN_PREFIX || prefix > MAX_PREFIX) {
    throw new FleetError('address', `the network /${prefix} does not fit a fleet`, `The prefix length must be between ${MIN_PREFIX} and ${MAX_PREFIX}, so the DHCP range holds at least 50 machines; ${example}.`);
  }
  const { network, broadcast } = bounds({ address, prefix });
  const n = toNumber(address);
  if (n === network || n === broadcast) throw new FleetError('address', `${address} is the network's own or broadcast address`, `Give the seed a host address of ${toAddress(network)}/${prefix}, ${example}.`);
  return { address, prefix };
}

export function bounds(net: Ipv4Network): { network: number; broadcast: number } {
  const size = 2 ** (32 - net.prefix);
  const network = Math.floor(toNumber(net.address) / size) * size;
  return { network, broadcast: network + size - 1 };
}

export function netmask(prefix: number): string {
  return toAddress(2 ** 32 - 2 ** (32 - prefix));
}

// The upper half of the network's hosts, the seed's own address left out of it when it falls there.
export function dhcpRange(net: Ipv4Network): { start: string; end: string } {
  const { network, broadcast } = bounds(net);
  let start = network + (broadcast - network + 1) / 2;
  let end = broadcast - 1;
  const seed = toNumber(net.address);
  if (seed === end) end -= 1;
  else if (seed >= start && seed < end) start = seed + 1;
  return { start: toAddress(start), end: toAddress(end) };
}

// The interface's IPv4 networks now (Node reads them with getifaddrs).
export function interfaceNetworks(name: string): Ipv4Network[] | null {
  const found = networkInterfaces()[name];
  if (!found) return null;
  return found.filter((a) => a.family === 'IPv4' && a.cidr !== null).map((a) => ({ address: a.address, prefix: Number(a.cidr!.split('/')[1]) }));
}

// Which address the seed serves on: the one given (which the interface must carry), else the interface's first (proxy DHCP).
export function seedNetwork(name: string, address: string | undefined): { net: Ipv4Network; proxy: boolean } {
  if (!INTERFACE_NAME.test(name)) throw new FleetError('interface', `"${name.slice(0, 32)}" is not an interface name`, 'Name the network interface the targets are on, e.g. --interface enp3s0 (ip -brief link lists them).');
  const nets = interfaceNetworks(name);
  if (nets === null) throw new FleetError('interface', `there is no interface ${name}`, 'Name the network interface the targets are on, e.g. --interface enp3s0 (ip -brief link lists them).');
  if (address !== undefined) {
    const wanted = parseCidr(address);
    if (!nets.some((n) => n.address === wanted.address && n.prefix === wanted.prefix)) {
      throw new FleetError('address', `${name} does not have the address ${address}`, `Give it that address first (ip address add ${address} dev ${name}), or leave out --address to use proxy DHCP beside the network's own DHCP server.`);
    }
    return { net: wanted, proxy: false };
  }
  const first = nets[0];
  if (!first) throw new FleetError('interface', `${name} has no IPv4 address`, `Give the seed an address on a network of its own with --address (e.g. --address 10.77.0.1/24, after ip address add 10.77.0.1/24 dev ${name}), or connect ${name} to the network whose DHCP server gives it one.`);
  return { net: first, proxy: true };
}

// The unprivileged user the fleet's DHCP and TFTP server (dnsmasq) runs as once
// it has bound its ports, and that user's own group: dnsmasq drops to both
// (user= and group=) and keeps only the network capabilities it names.
import { readFile } from 'node:fs/promises';
import { FleetError } from './fleet-error.js';

export interface FleetUser {
  name: string;
  group: string;
  uid: number;
  gid: number;
}

async function entries(file: string): Promise<string[][]> {
  return (await readFile(file, 'utf8')).split('\n').map((line) => line.split(':'));
}

export async function fleetUser(name: string, passwdFile = '/etc/passwd', groupFile = '/etc/group'): Promise<FleetUser> {
  const user = (await entries(passwdFile)).find((fields) => fields[0] === name);
  const fix = `create it (the NixOS module does: users.users.${name}.isSystemUser) or name another with NOI_FLEET_USER`;
  if (!user || !/^\d+$/.test(user[2] ?? '') || !/^\d+$/.test(user[3] ?? '')) throw new FleetError('interface', `The fleet's user "${name}" does not exist`, `dnsmasq drops to it after binding its ports: ${fix}.`);
  if (user[2] === '0' || user[3] === '0') throw new FleetError('interface', `The fleet's user "${name}" is root or in root's group`, `dnsmasq must not keep root's rights: ${fix}.`);
  const group = (await entries(groupFile)).find((fields) => fields[2] === user[3]);
  if (!group?.[0]) throw new FleetError('interface', `The group of the fleet's user "${name}" (gid ${user[3]}) has no name in ${groupFile}`, 'dnsmasq takes its group by name: give the user a group that exists.');
  return { name, group: group[0], uid: Number(user[2]), gid: Number(user[3]) };
}

// The unprivileged user the fleet's DHCP and TFTP server (dnsmasq) runs as once
// it has bound its ports, and that user's own group: dnsmasq drops to both
// (user= and group=) and keeps only the network capabilities it names.
import { groupNameOf, passwdIds } from '../common/accounts.js';
import { FleetError } from './fleet-error.js';

export interface FleetUser {
  name: string;
  group: string;
  uid: number;
  gid: number;
}

export async function fleetUser(name: string, passwdFile = '/etc/passwd', groupFile = '/etc/group'): Promise<FleetUser> {
  const user = passwdIds(name, passwdFile);
  const fix = `create it (the NixOS module does: users.users.${name}.isSystemUser) or name another with NOI_FLEET_USER`;
  if (!user) throw new FleetError('interface', `The fleet's user "${name}" does not exist`, `dnsmasq drops to it after binding its ports: ${fix}.`);
  if (user.uid === 0 || user.gid === 0) throw new FleetError('interface', `The fleet's user "${name}" is root or in root's group`, `dnsmasq must not keep root's rights: ${fix}.`);
  const group = groupNameOf(user.gid, groupFile);
  if (!group) throw new FleetError('interface', `The group of the fleet's user "${name}" (gid ${user.gid}) has no name in ${groupFile}`, 'dnsmasq takes its group by name: give the user a group that exists.');
  return { name, group, ...user };
}

// Users and groups as the passwd and group files list them: the daemon names
// who its children run as (the eval user, the fleet's user, the store's user)
// before it starts any, and says which account is missing.
import { readFileSync } from 'node:fs';

function entries(file: string): string[][] {
  return readFileSync(file, 'utf8').split('\n').map((line) => line.split(':'));
}

const number = (field: string | undefined) => (field !== undefined && /^\d+$/.test(field) ? Number(field) : null);

// NAME's uid and primary gid, or null when the passwd file has no such user.
export function passwdIds(name: string, passwdFile = '/etc/passwd'): { uid: number; gid: number } | null {
  for (const [user, , uid, gid] of entries(passwdFile)) {
    if (user === name && number(uid) !== null && number(gid) !== null) return { uid: number(uid)!, gid: number(gid)! };
  }
  return null;
}

// The gid of the group named NAME, or null.
export function groupIdOf(name: string, groupFile = '/etc/group'): number | null {
  for (const [group, , gid] of entries(groupFile)) if (group === name && number(gid) !== null) return number(gid);
  return null;
}

// The name of the group GID, or null.
export function groupNameOf(gid: number, groupFile = '/etc/group'): string | null {
  return entries(groupFile).find((fields) => number(fields[2]) === gid)?.[0] || null;
}

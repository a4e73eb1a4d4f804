// Who may have put a configuration folder where the installer looks for one.
// /tmp is everyone's: any local user could create /tmp/nix-cfg first and have
// root evaluate and install it. Such a folder is passed over; a folder counts only when it is a real folder
// (not a link), not writable by others, and owned by root or by a member of
// the socket group (the live user, who may install anyway). Membership is
// proven by the kernel when the folder's group is the socket group (an owner
// can only give a file a group they are in), or read from /etc/passwd and
// /etc/group.
import { lstatSync, readdirSync, readFileSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';

function mode(info: Stats): string {
  return (info.mode & 0o7777).toString(8).padStart(4, '0');
}

function readLines(file: string): string[][] {
  try {
    return readFileSync(file, 'utf8').split('\n').map((line) => line.split(':'));
  } catch {
    return [];
  }
}

// Is UID in group GID, by the account databases?
export function isGroupMember(uid: number, gid: number, files = { passwd: '/etc/passwd', group: '/etc/group' }): boolean {
  const account = readLines(files.passwd).find((f) => f[2] === String(uid));
  if (!account) return false;
  if (account[3] === String(gid)) return true;
  const group = readLines(files.group).find((f) => f[2] === String(gid));
  return (group?.[3] ?? '').split(',').includes(account[0]!);
}

// Why DIR is nobody's deliberate choice, so the next folder is looked at: it
// is empty (a real folder, e.g. made ready for a copy), or it (or the link in
// its place) belongs to a user who is neither root nor in the socket group:
// any local user can make /tmp/nix-cfg first, and refusing it would block
// every install (the live user cannot remove it from sticky /tmp).
export function passOverReason(dir: string, socketGid: number): string | null {
  const info = lstatSync(dir, { throwIfNoEntry: false });
  if (!info) return null;
  if (info.uid !== 0 && info.gid !== socketGid && !isGroupMember(info.uid, socketGid)) {
    return `belongs to uid ${info.uid}, who is neither root nor in the installer's socket group (gid ${socketGid}), so anyone could have put it there; it is never read`;
  }
  if (info.isDirectory() && isEmpty(dir)) return 'is empty';
  return null;
}

function isEmpty(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

// Why DIR, root's or a group member's and not passed over, must not be used, or null. SOCKET_GID is the group allowed to use the daemon.
export function untrustedReason(dir: string, socketGid: number): string | null {
  const info = lstatSync(dir, { throwIfNoEntry: false });
  if (!info) return null;
  if (info.isSymbolicLink()) return 'is a symbolic link; use the folder itself';
  if (!info.isDirectory()) return 'is not a folder';
  if ((info.mode & 0o002) !== 0) return `is writable by every user (mode ${mode(info)}); run chmod o-w ${dir}`;
  if (info.uid !== 0 && info.gid !== socketGid && !isGroupMember(info.uid, socketGid)) {
    return `belongs to uid ${info.uid}, who is neither root nor in the installer's socket group (gid ${socketGid}), so anyone could have put it there; copy it again as root or as the live user`;
  }
  if ((info.mode & 0o020) !== 0 && info.gid !== 0 && info.gid !== socketGid) return `is writable by group ${info.gid} (mode ${mode(info)}); run chmod g-w ${dir}`;
  // A parent others may write to (and that is not sticky, as /tmp is) lets them swap the folder.
  for (let parent = dirname(dir); ; parent = dirname(parent)) {
    const above = lstatSync(parent, { throwIfNoEntry: false });
    if (above && (above.mode & 0o002) !== 0 && (above.mode & 0o1000) === 0) return `is inside ${parent}, which every user may change (mode ${mode(above)})`;
    if (parent === '/') break;
  }
  return null;
}

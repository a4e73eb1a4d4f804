// The mounts this process sees, from /proc/self/mountinfo.
import { readFile } from 'node:fs/promises';

// Where the ISO's squashfs is mounted, the lower layer of the live /nix/store (nixpkgs' iso-image.nix).
export const LIVE_STORE_MEDIUM = '/nix/.ro-store';

export interface MountEntry {
  // The device's major:minor.
  numbers: string;
  mountPoint: string;
  fsType: string;
  source: string;
}

// A path as mountinfo and /proc/swaps write it (\ooo escapes for spaces and the like).
export function unescapeMount(text: string): string {
  return text.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export async function mounts(): Promise<MountEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const fields = line.split(' ');
      const dash = fields.indexOf('-');
      return { numbers: fields[2]!, mountPoint: unescapeMount(fields[4]!), fsType: fields[dash + 1] ?? '', source: unescapeMount(fields[dash + 2] ?? '') };
    });
}

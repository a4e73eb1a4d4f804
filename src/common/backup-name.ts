// The name an existing file or folder on the target is kept under before it is
// replaced (/etc/nixos, the install log): "<path>.backup-<YYYYMMDD-HHMMSS>".
export function backupPath(path: string, time: Date): string {
  return `${path}.backup-${time.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')}`;
}

// The first backup name for NAME not taken yet: two in the same second get -2, -3, ...
export async function freeBackupName(name: string, time: Date, taken: (candidate: string) => Promise<boolean>): Promise<string> {
  const base = backupPath(name, time);
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? base : `${base}-${n}`;
    if (!(await taken(candidate))) return candidate;
  }
}

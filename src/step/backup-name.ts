// The name an existing file or folder on the target is kept under before it is
// replaced (/etc/nixos, the install log): "<path>.backup-<YYYYMMDD-HHMMSS>".
export function backupPath(path: string, time: Date): string {
  return `${path}.backup-${time.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')}`;
}

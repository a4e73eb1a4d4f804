// Disk sizes for people: binary units, as the answer file and partitioning tools use them.
export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 4) return `${(bytes / 1024 ** 4).toFixed(2)} TiB`;
  if (bytes >= GiB) return `${(bytes / GiB).toFixed(1)} GiB`;
  if (bytes >= MiB) return `${(bytes / MiB).toFixed(0)} MiB`;
  return `${bytes} bytes`;
}

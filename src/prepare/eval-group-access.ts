// The prepared copy is read by the eval user (src/nix/eval-user.ts), not by
// root: it is given to root:<eval user's group>, folders 0750 and files
// group-readable, so that user can read it and still nobody but root can
// change it. Others cannot enter it at all; a file that was not world-readable
// in the source stays so (0640), and staging it on the target makes it 0600
// again (src/snapshot/copy-snapshot.ts reads the other-read bit).
export function groupReadableMode(mode: number, isDir: boolean): number {
  if (isDir) return 0o750;
  const kept = mode & 0o755;
  // The owner's read and execute bits, for the group too; never write.
  return kept | ((kept & 0o500) >> 3);
}

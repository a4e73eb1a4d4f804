// The folders Nix makes under the target when it first opens the store there
// (nix copy, nix-store --store local?root=), made here first: root's, 0755,
// each opened beneath the one above it without following a link and checked
// as it is made. Nix then finds them and enters what root made, never a
// folder someone else created or swapped in between a check and its use.
import { Beneath, UnsafePathError, withDir } from '../fs/beneath.js';
import { InstallError } from '../common/install-error.js';

const STORE_FOLDERS = ['nix/store', 'nix/var/nix/db', 'nix/var/nix/profiles', 'nix/var/nix/gcroots', 'nix/var/nix/temproots', 'nix/var/log/nix'];

export async function makeTargetStoreFolders(root: string): Promise<void> {
  try {
    await withDir(Beneath.open(root, { rootOwned: true }), async (target) => {
      for (const rel of STORE_FOLDERS) await (await target.dir(rel, { create: 0o755 })).close();
    });
  } catch (error) {
    if (!(error instanceof UnsafePathError)) throw error;
    throw new InstallError('target-unsafe', `${error.path} ${error.reason}`, `The installer acts as root on the target and enters only folders root made or only root can change. Remove ${error.path}, or install onto an empty partition.`);
  }
}

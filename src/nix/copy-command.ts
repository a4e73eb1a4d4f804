// `nix copy` into the target store, and what it says while it copies. Nix 2.26
// and newer count each path's bytes as they are read (a progress result of
// the path's copy activity: bytes done, NAR size); Nix 2.8 says only when a
// path starts and ends, so its callers measure the bytes another way.
import type { CommandContext } from '../common/context.js';
import type { InstallError } from '../common/install-error.js';
import { ACTIVITY, RESULT } from './log-format.js';
import { NIX_COMMAND_OPTIONS, targetStore } from './options.js';
import { lastMessages } from './commands.js';
import { runNix, type NixRunOutcome } from './run-nix.js';
import { checkedStorePaths } from './store-path.js';

export interface CopyEvents {
  started: (path: string) => void;
  // Nix's own count of PATH's bytes copied so far (not on Nix 2.8).
  copied?: (path: string, bytes: number) => void;
  finished: (path: string) => void;
}

// `nix copy` of PATH's closure (or several paths') into the store under ROOT.
export async function copyToTarget(
  ctx: CommandContext,
  root: string,
  path: string | readonly string[],
  on: CopyEvents,
  failure: (outcome: NixRunOutcome, tail: string) => InstallError,
  // Another store to copy from than the local one (a fleet's seed over ssh-ng: ssh-ng.ts), with its environment.
  from?: { store: string; env: Record<string, string> },
): Promise<void> {
  const copying = new Map<number, string>();
  await runNix(ctx, {
    file: 'nix',
    source: 'nix copy',
    ...(from && { env: from.env }),
    args: ['copy', '--no-check-sigs', ...(from ? ['--from', from.store] : []), '--to', targetStore(root), '-v', ...NIX_COMMAND_OPTIONS],
    operands: checkedStorePaths([path].flat(), 'A path to copy'),
    onEvent: (event) => {
      if (event.action === 'start' && event.type === ACTIVITY.copyPath && typeof event.fields[0] === 'string') {
        copying.set(event.id, event.fields[0]);
        on.started(event.fields[0]);
      } else if (event.action === 'result' && event.type === RESULT.progress && copying.has(event.id) && typeof event.fields[0] === 'number') {
        on.copied?.(copying.get(event.id)!, event.fields[0]);
      } else if (event.action === 'stop' && copying.has(event.id)) {
        on.finished(copying.get(event.id)!);
        copying.delete(event.id);
      }
    },
    failure: (o) => failure(o, lastMessages(o)),
  });
}

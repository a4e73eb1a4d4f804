// Which configuration folder an install uses: the first of the configured
// folders (by default /tmp/nix-cfg, then /iso/nix-cfg: nix/installer-defaults.json) that exists and is not
// empty and is root's or a socket-group member's (trusted-source.ts). That
// folder is someone's deliberate choice (a technician copying /tmp/nix-cfg),
// so it is never passed over for the next one: if it has no
// configuration.nix or flake.nix at its top it is refused, naming a nested
// folder that has one (`cp -r mycfg /tmp/nix-cfg/` puts it at /tmp/nix-cfg/mycfg).
// A folder counts only when root or the live user can have put it there
// (trusted-source.ts): root evaluates and installs what it holds.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigSourceStatus, ErrorInfo, PassedOverSource } from '../protocol/messages.js';
import { InstallError } from '../common/install-error.js';
import { passOverReason, untrustedReason } from './trusted-source.js';

export interface SourceChoice {
  // The folder to install from, or null (then problem says why).
  active: string | null;
  candidates: ConfigSourceStatus[];
  problem: ErrorInfo | null;
}

function isFile(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function entries(dir: string): string[] | null {
  try {
    return readdirSync(dir);
  } catch {
    return null;
  }
}

// What makes a folder a configuration: a classic configuration.nix or a flake (docs/flakes.md).
const MARKERS = ['configuration.nix', 'flake.nix'];
const isConfiguration = (dir: string) => MARKERS.some((marker) => isFile(join(dir, marker)));

// Folders one level down that hold a configuration.
function nestedConfigurations(dir: string, names: readonly string[]): string[] {
  return names
    .filter((name) => statSync(join(dir, name), { throwIfNoEntry: false })?.isDirectory() && isConfiguration(join(dir, name)))
    .sort()
    .map((name) => join(dir, name));
}

function notAtTop(dir: string, names: readonly string[], next: string | undefined): ErrorInfo {
  const nested = nestedConfigurations(dir, names);
  const instead = next ? ` To install ${next} instead, remove ${dir}.` : '';
  const taken = `${dir} is not empty, so it is the configuration to install, but it has no configuration.nix or flake.nix at its top.`;
  if (nested.length === 1) {
    const [one] = nested as [string];
    return {
      code: 'config-incomplete',
      title: `No configuration.nix at the top of ${dir}`,
      description: `${taken} ${one} has one: did you mean ${one}?\nMove it up: mv ${dir} ${dir}.old && mv ${dir}.old/${one.slice(dir.length + 1)} ${dir}\nThen start again.${instead}`,
    };
  }
  if (nested.length > 1) {
    return {
      code: 'config-incomplete',
      title: `No configuration.nix at the top of ${dir}`,
      description: `${taken} Several folders inside it have one:\n${nested.map((n) => `  ${n}`).join('\n')}\nPut the contents of the one you mean at the top of ${dir}, then start again.${instead}`,
    };
  }
  return {
    code: 'config-incomplete',
    title: `No configuration.nix in ${dir}`,
    description: `${taken} It holds: ${names.slice(0, 10).join(', ')}${names.length > 10 ? ', …' : ''}.\nCopy your configuration folder (with configuration.nix or flake.nix at its top) to ${dir}, then start again.${instead}`,
  };
}

// SOCKET_GID: the group allowed to use the daemon, whose members' folders count (see trusted-source.ts).
export function chooseSource(dirs: readonly string[], socketGid = 0): SourceChoice {
  const candidates: ConfigSourceStatus[] = [];
  let active: string | null = null;
  let problem: ErrorInfo | null = null;
  let decided = false;
  for (const [index, dir] of dirs.entries()) {
    // Nobody's choice (empty, or a stranger's): looked past, and said so in status and every result.
    const passedOver = passOverReason(dir, socketGid);
    if (passedOver !== null) {
      candidates.push({ dir, exists: true, hasConfiguration: false, passedOver });
      continue;
    }
    const info = statSync(dir, { throwIfNoEntry: false });
    const isDir = info?.isDirectory() ?? false;
    // Every candidate says whether it could be trusted, for status; only the first one in use decides.
    // A file where a folder is expected is there, and stops installs: status says so, never "missing".
    const refused = info ? (isDir ? untrustedReason(dir, socketGid) : 'is not a folder') : null;
    const hasConfiguration = isDir && refused === null && isConfiguration(dir);
    candidates.push({ dir, exists: isDir || refused !== null, hasConfiguration, ...(refused !== null && { refused }) });
    if (decided || !info) continue;
    const next = dirs[index + 1];
    if (!isDir) {
      decided = true;
      problem = { code: 'config-incomplete', title: `${dir} is not a folder`, description: `${dir} exists but is not a folder. Remove it, or replace it with your configuration folder (configuration.nix at its top), then start again.` };
      continue;
    }
    // Meant to be used, so never passed over silently; but not trusted with root's evaluation either.
    if (refused !== null) {
      decided = true;
      problem = {
        code: 'config-untrusted',
        title: `${dir} is not used: it ${refused.split(';')[0]}`,
        description: `${dir} is not used: it ${refused}.\nRoot evaluates and installs what it finds there, so a folder is used only when root or the live user made it and nobody else can change it.${next ? ` To install ${next} instead, remove ${dir}.` : ''}`,
      };
      continue;
    }
    const names = entries(dir);
    if (names === null) {
      decided = true;
      problem = { code: 'config-incomplete', title: `${dir} cannot be read`, description: `The installer cannot list ${dir}. Check its permissions, then start again.` };
      continue;
    }
    decided = true;
    if (hasConfiguration) active = dir;
    else problem = notAtTop(dir, names, next);
  }
  if (!decided) {
    const found = candidates.map((c) => `  ${c.dir}: ${c.passedOver ?? (c.exists ? 'is empty' : 'does not exist')}`).join('\n');
    problem = {
      code: 'config-missing',
      title: 'No NixOS configuration found',
      description:
        `The installer uses the first of these folders that exists and is not empty:\n${found}\n` +
        `Copy your configuration folder (with configuration.nix or flake.nix at its top) to ${dirs[0] ?? '/tmp/nix-cfg'}, ` +
        'or rebuild the ISO with your configuration in nix-cfg/, then start the install again.',
    };
  }
  return { active, candidates, problem };
}

// The folders looked past, for every result.
export function passedOver(choice: Pick<SourceChoice, 'candidates'>): PassedOverSource[] {
  return choice.candidates.filter((c) => c.passedOver !== undefined && c.passedOver !== 'is empty').map((c) => ({ dir: c.dir, reason: c.passedOver! }));
}

// The folder to install from, or the error that says why there is none.
export function resolveSource(choice: SourceChoice): string {
  if (choice.active !== null) return choice.active;
  const problem = choice.problem!;
  throw new InstallError(problem.code, problem.title, problem.description);
}

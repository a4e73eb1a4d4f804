// Which of the hardware profiles the ISO was built for (manifest
// `hardwareProfiles`, name → the file's text) this machine matches, by the
// settings that decide what the system needs: kernel modules, CPU, guest
// support, imported hardware modules. File systems differ on every machine
// and need nothing extra, so they are not compared.
import { readFile } from 'node:fs/promises';

const DECISIVE = /^\s*(?:boot\.(?:initrd\.)?(?:availableKernelModules|kernelModules|extraModulePackages)|hardware\.|powerManagement\.|virtualisation\.|services\.|imports\s*=|\[?\s*\(modulesPath)/;

function settings(text: string): Set<string> {
  return new Set(text.split('\n').filter((line) => DECISIVE.test(line)).map((line) => line.trim().replace(/\s+/g, ' ')));
}

export interface ProfileMatch {
  // The profile whose settings are all this machine's, if any.
  matches: string | null;
  // Otherwise the closest one, and this machine's settings it lacks.
  closest: string | null;
  missing: string[];
}

export function matchProfile(generated: string, profiles: Record<string, string>): ProfileMatch {
  const mine = settings(generated);
  let best: { name: string; missing: string[] } | null = null;
  for (const [name, text] of Object.entries(profiles).sort(([a], [b]) => a.localeCompare(b))) {
    const theirs = settings(text);
    const missing = [...mine].filter((line) => !theirs.has(line));
    if (missing.length === 0) return { matches: name, closest: name, missing: [] };
    if (!best || missing.length < best.missing.length) best = { name, missing };
  }
  return { matches: null, closest: best?.name ?? null, missing: best?.missing ?? [] };
}

// The profiles in the ISO manifest; none when there is no manifest or it lists none.
export async function manifestProfiles(manifest: string | null): Promise<Record<string, string>> {
  if (manifest === null) return {};
  const data = await readFile(manifest, 'utf8').then((t) => JSON.parse(t) as { hardwareProfiles?: unknown }, () => null);
  const profiles = data?.hardwareProfiles;
  if (!profiles || typeof profiles !== 'object') return {};
  return Object.fromEntries(Object.entries(profiles).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

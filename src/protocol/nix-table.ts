// The shared tables in nix/ (read by this code, the Calamares module and the
// Nix files alike), next to dist/ in the package as in the repository.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function nixTablePath(name: string): string {
  return fileURLToPath(new URL(`../../nix/${name}`, import.meta.url));
}

// NAME's JSON; CHECK says what is wrong with it, or null. A broken table stops the program at start, naming it.
export function readNixTable<T>(name: string, check: (data: T) => string | null): T {
  const path = nixTablePath(name);
  let data: T;
  try {
    data = JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (error) {
    throw new Error(`${path} cannot be read as JSON (${(error as Error).message}); reinstall the package`);
  }
  const problem = check(data);
  if (problem !== null) throw new Error(`${path}: ${problem}; reinstall the package`);
  return data;
}

// Which of Calamares' pages ask only what a configuration decides itself, and
// settings.conf without them. One table (nix/calamares-pages.json) serves
// this code (the launcher's runtime settings, for a /tmp/nix-cfg) and the ISO
// build (nix/calamares-hidden-pages.nix, for the shipped nix-cfg).
import { readFileSync } from 'node:fs';
import type { ChoiceSetting } from '../protocol/vocabularies.js';

const table = JSON.parse(readFileSync(new URL('../../nix/calamares-pages.json', import.meta.url), 'utf8')) as Record<string, ChoiceSetting[]>;

// The pages all of whose choices the configuration sets itself (a choice is only a default, so none could apply).
export function hiddenPages(fixedSettings: readonly ChoiceSetting[]): string[] {
  return Object.keys(table)
    .filter((page) => table[page]!.every((setting) => fixedSettings.includes(setting)))
    .sort();
}

// settings.conf's text without PAGES in its show blocks; a page not there is left alone.
export function settingsWithout(text: string, pages: readonly string[]): { text: string; removed: string[] } {
  const removed: string[] = [];
  let block = '';
  const lines = text.split('\n').filter((line) => {
    const heading = /^- (show|exec):\s*$/.exec(line);
    if (heading) block = heading[1]!;
    else if (/^[^\s#]/.test(line)) block = '';
    const page = /^ {2}- (\S+)\s*$/.exec(line)?.[1];
    if (block === 'show' && page !== undefined && pages.includes(page)) {
      removed.push(page);
      return false;
    }
    return true;
  });
  return { text: lines.join('\n'), removed };
}

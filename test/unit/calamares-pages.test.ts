// Which Calamares pages a configuration's fixed settings leave out, and
// settings.conf without them (the launcher's calamares-settings).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { hiddenPages, settingsWithout } from '../../src/calamares/hidden-pages.js';
import { REPO } from '../helpers/env.js';

it('leaves out a page only when the configuration fixes every choice on it', () => {
  expect(hiddenPages([])).toEqual([]);
  expect(hiddenPages(['timeZone'])).toEqual([]);
  expect(hiddenPages(['timeZone', 'defaultLocale', 'hostName'])).toEqual(['locale']);
  expect(hiddenPages(['consoleKeyMap', 'xkbLayout', 'timeZone', 'defaultLocale'])).toEqual(['keyboard', 'locale']);
});

it("takes pages out of settings.conf's show blocks only, and nothing else", () => {
  const settings = readFileSync(join(REPO, 'calamares/config/settings.conf'), 'utf8');
  const { text, removed } = settingsWithout(settings, ['locale', 'keyboard', 'partition']);
  expect(removed).toEqual(['locale', 'keyboard', 'partition']);
  const lines = (t: string) => t.split('\n');
  // Exactly those three lines went; the exec block's partition job stays.
  expect(lines(settings).filter((l) => !lines(text).includes(l))).toEqual(['  - locale', '  - keyboard']);
  expect(lines(settings).length - lines(text).length).toBe(3);
  expect(text).toMatch(/^- exec:\n {2}- partition$/m);
  expect(text).not.toMatch(/^ {2}- partition\n {2}# Before the check/m);
  // A page that is not there is left alone.
  expect(settingsWithout(settings, ['netinstall'])).toEqual({ text: settings, removed: [] });
});

// calamares-settings: what the launcher runs before Calamares starts. It asks the
// daemon which choices the configuration in use decides itself and writes a
// settings.conf without the pages that ask only those, into a folder Calamares
// reads first (XDG_CONFIG_DIRS with --xdg-config: <out>/calamares/settings.conf;
// module configs still come from the folders after it). Without an answer from
// the daemon it writes settings.conf unchanged, so Calamares always starts.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DaemonClient, DaemonUnavailable } from '../../client/daemon-client.js';
import { hiddenPages, settingsWithout } from '../../calamares/hidden-pages.js';
import type { ChoiceSetting } from '../../protocol/vocabularies.js';
import type { CalamaresSettingsFlags } from '../program.js';
import { EXIT } from '../usage.js';

// settings.conf is a few kB; anything near this is not one.
const MAX_SETTINGS_BYTES = 1024 * 1024;

async function fixedSettings(socket: string): Promise<{ fixed: ChoiceSetting[]; source: string | null } | { problem: string }> {
  let client: DaemonClient;
  try {
    client = await DaemonClient.connect(socket);
  } catch (error) {
    if (!(error instanceof DaemonUnavailable)) throw error;
    return { problem: error.message };
  }
  try {
    const reply = await client.request('validate', {});
    if (!reply.ok) return { problem: `${reply.error.title}: ${reply.error.description}` };
    const facts = reply.validation?.facts ?? null;
    // No facts (the configuration does not evaluate): every page stays; the check job shows the error.
    if (!facts) return { problem: 'the configuration in use could not be evaluated, so every page is kept' };
    return { fixed: facts.fixedSettings ?? [], source: reply.validation!.source };
  } finally {
    client.close();
  }
}

export async function runCalamaresSettings(flags: CalamaresSettingsFlags): Promise<number> {
  const text = await readFile(flags.settings, 'utf8');
  if (Buffer.byteLength(text) > MAX_SETTINGS_BYTES) throw new Error(`${flags.settings} is larger than ${MAX_SETTINGS_BYTES} bytes: not a Calamares settings.conf`);
  const answer = await fixedSettings(flags.socket);
  const pages = 'fixed' in answer ? hiddenPages(answer.fixed) : [];
  const { text: settings, removed } = settingsWithout(text, pages);
  const folder = join(flags.out, 'calamares');
  await mkdir(folder, { recursive: true, mode: 0o755 });
  // Written whole, then renamed: Calamares never reads half a file.
  const file = join(folder, 'settings.conf');
  await writeFile(`${file}.new`, settings, { mode: 0o644 });
  await rename(`${file}.new`, file);
  const summary = { settings: file, hiddenPages: removed, ...('fixed' in answer ? { source: answer.source, fixedSettings: answer.fixed } : { problem: answer.problem }) };
  if (flags.json) process.stdout.write(`${JSON.stringify({ type: 'calamares-settings', data: summary })}\n`);
  else {
    process.stdout.write(`${file}: ${removed.length > 0 ? `pages left out, as the configuration decides all they ask: ${removed.join(', ')}` : 'every page shown'}\n`);
    if ('problem' in answer) process.stderr.write(`warning: ${answer.problem}\n`);
  }
  return 'problem' in answer ? EXIT.unavailable : EXIT.ok;
}

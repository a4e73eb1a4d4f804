// `nixos-offline-installer check-medium [--json] [PATH...]`: run as root on
// the live system, with no daemon (the boot menu's "Check the medium, then
// install" runs it before anything else). Exit 1 when a path is damaged.
import type { CommandContext } from '../../common/context.js';
import { checkMedium, type MediumProgress } from '../../medium/check-medium.js';
import { timeLeftText } from '../render.js';
import { EXIT } from '../usage.js';

const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

function said(p: MediumProgress): string {
  const left = p.secondsLeft === null ? '' : `, ${timeLeftText(p.secondsLeft)}`;
  return `checked ${p.pathsDone} of ${p.pathsTotal} store paths, ${mb(p.bytesDone)} of ${mb(p.bytesTotal)}${left}`;
}

export async function runCheckMedium(flags: { json: boolean; paths: string[] }): Promise<number> {
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort('cancel'));
  const ctx: CommandContext = {
    signal: abort.signal,
    log: () => {},
    output: () => {},
    recentLines: () => [],
  };
  const emit = (type: string, data: unknown) => process.stdout.write(`${JSON.stringify({ type, data })}\n`);
  const report = await checkMedium(ctx, flags.paths, (p) => (flags.json ? emit('progress', p) : process.stderr.write(`${said(p)}\n`)));
  if (flags.json) emit('result', report);
  else if (report.ok) process.stdout.write(`The medium is good: ${report.paths} store paths (${mb(report.bytes)}) match their registered hashes (${report.seconds} s).\n`);
  else {
    process.stdout.write(`The installer's medium is damaged: ${report.damaged.length} of ${report.paths} store paths do not read back as registered:\n`);
    for (const d of report.damaged) process.stdout.write(`  ${d.path}\n${d.said.split('\n').map((l) => `      ${l}`).join('\n')}\n`);
    process.stdout.write("Write the ISO to the stick again (or to another stick) and compare the stick with the ISO's checksum before booting it.\n");
  }
  return report.ok ? EXIT.ok : EXIT.failed;
}

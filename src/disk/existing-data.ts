// What is on a disk already, by wipefs's own probe (partition tables and file
// system, RAID or LUKS signatures): a disk with any of it is only touched when
// the answer file says "wipe": true.
import { AnswerError } from '../common/answers.js';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';
import type { DiskInfo } from './block-device.js';

export interface Signature {
  type: string;
  offset: string;
}

export function parseWipefsJson(text: string): Signature[] {
  if (text.trim() === '') return [];
  const parsed = JSON.parse(text) as { signatures?: { type?: unknown; offset?: unknown }[] };
  return (parsed.signatures ?? []).map((s) => ({ type: String(s.type), offset: String(s.offset) }));
}

// `wipefs --no-act` only reads.
export async function diskSignatures(ctx: CommandContext, disk: DiskInfo): Promise<Signature[]> {
  const result = await runStageCommand(ctx, {
    file: 'wipefs',
    args: ['--no-act', '--json', disk.device],
    captureStdout: true,
    logStdout: false,
    failure: (r) => new InstallError('disk-unreadable', `The disk ${disk.path} could not be read`, `wipefs --no-act ${disk.device} exited with ${r.exitCode}:\n${lastLines(ctx, 'wipefs')}\nCheck the disk (dmesg shows read errors), or name another one in "disk".`),
  });
  return parseWipefsJson(result.stdout.join('\n'));
}

export function checkWipe(disk: DiskInfo, signatures: readonly Signature[], wipe: boolean, answerFile: string): void {
  if (signatures.length === 0 || wipe) return;
  const found = [...new Set(signatures.map((s) => s.type))].join(', ');
  throw new AnswerError(
    'wipe',
    `${disk.path} is not empty and "wipe" is not true`,
    `${disk.device} holds: ${found}. Installing would erase everything on it, so the answer file must say so: set "wipe": true in ${answerFile} if this is the right disk (lsblk -f ${disk.device} shows what is on it), or name a blank disk in "disk". The disk was not touched.`,
  );
}

// LUKS2 for the encrypted layouts, with cryptsetup: the passphrase comes from
// the answer file's passphrase file, read up to its length less a trailing
// newline (--keyfile-size), so it is exactly what is typed at boot. It never
// passes through argv, stdin or the log.
import type { Encryption } from '../common/answers.js';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';

export const ROOT_MAPPER = 'cryptroot';
export const SWAP_MAPPER = 'cryptswap';

function keyArgs(encryption: Encryption): string[] {
  return ['--key-file', encryption.passphraseFile, '--keyfile-size', String(encryption.passphraseBytes)];
}

export function luksFormatArgs(device: string, encryption: Encryption): string[] {
  return ['luksFormat', '--type', 'luks2', '--batch-mode', ...keyArgs(encryption), device];
}

export function luksOpenArgs(device: string, encryption: Encryption, name: string): string[] {
  return ['open', '--type', 'luks2', ...keyArgs(encryption), device, name];
}

export function luksCloseArgs(name: string): string[] {
  return ['close', name];
}

function failed(ctx: CommandContext, what: string, device: string) {
  return (r: { exitCode: number | null }) =>
    new InstallError('encrypt-failed', `Encrypting ${device} failed`, `cryptsetup ${what} ${device} exited with ${r.exitCode}:\n${lastLines(ctx, 'cryptsetup')}\nThe disk is partitioned but holds no system yet; check the passphrase file and dmesg, then start the install again.`);
}

// Formats DEVICE as LUKS2, opens it as /dev/mapper/NAME and returns the mapper path and the LUKS UUID.
export async function encryptAndOpen(ctx: CommandContext, device: string, encryption: Encryption, name: string, opened: string[]): Promise<{ mapper: string; uuid: string }> {
  ctx.log('format', `cryptsetup luksFormat --type luks2 ${device} (passphrase from ${encryption.passphraseFile})`);
  await runStageCommand(ctx, { file: 'cryptsetup', args: luksFormatArgs(device, encryption), failure: failed(ctx, 'luksFormat', device) });
  const uuid = (await runStageCommand(ctx, { file: 'cryptsetup', args: ['luksUUID', device], captureStdout: true, failure: failed(ctx, 'luksUUID', device) })).stdout.join('').trim();
  await runStageCommand(ctx, { file: 'cryptsetup', args: luksOpenArgs(device, encryption, name), failure: failed(ctx, 'open', device) });
  opened.push(name);
  ctx.log('format', `opened ${device} as /dev/mapper/${name} (LUKS UUID ${uuid})`);
  return { mapper: `/dev/mapper/${name}`, uuid };
}

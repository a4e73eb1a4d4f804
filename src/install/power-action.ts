// What an unattended install's answer file says to do after a success: reboot
// or power off through systemd (so every service stops cleanly), or stay.
import type { ThenAction } from '../protocol/vocabularies.js';
import type { CommandContext } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { lastLines, runStageCommand } from '../common/run-stage-command.js';

// Long enough to read the result on the console, or to cancel (nixos-offline-installer cancel).
export const THEN_DELAY_SECONDS = 10;

export function powerCommand(action: Exclude<ThenAction, 'stay'>): { file: string; args: string[] } {
  return { file: 'systemctl', args: [action] };
}

export async function runPowerAction(ctx: CommandContext, action: Exclude<ThenAction, 'stay'>): Promise<void> {
  const command = powerCommand(action);
  await runStageCommand(ctx, {
    ...command,
    failure: (r) => new InstallError('then-failed', `The ${action} failed`, `${command.file} ${command.args.join(' ')} exited with ${r.exitCode}:\n${lastLines(ctx, command.file)}`),
  });
}

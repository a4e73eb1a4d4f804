// What an unattended install's answer file says to do after a success: reboot
// or power off through systemd (so every service stops cleanly), or stay.
import type { ThenAction } from '../protocol/vocabularies.js';
import type { CommandContext } from '../step/context.js';
import { InstallError } from '../step/install-error.js';
import { lastLines, runStepCommand } from '../step/run-step-command.js';

// Long enough to read the result on the console, or to cancel (nixos-offline-installer cancel).
export const THEN_DELAY_SECONDS = 10;

export function powerCommand(action: Exclude<ThenAction, 'stay'>): { file: string; args: string[] } {
  return { file: 'systemctl', args: [action] };
}

export async function runPowerAction(ctx: CommandContext, action: Exclude<ThenAction, 'stay'>): Promise<void> {
  const command = powerCommand(action);
  await runStepCommand(ctx, {
    ...command,
    failure: (r) => new InstallError('then-failed', `The ${action} failed`, `${command.file} ${command.args.join(' ')} exited with ${r.exitCode}:\n${lastLines(ctx, command.file)}`),
  });
}

// How the target machine starts: what Calamares found (firmwareType), else
// what the live system booted with (the daemon runs on the target machine).
import { existsSync } from 'node:fs';
import type { InstallChoices } from '../protocol/messages.js';

export type Firmware = 'efi' | 'bios';

export function targetFirmware(choices: InstallChoices = {}, efiVars = '/sys/firmware/efi'): Firmware {
  if (choices.firmwareType === 'efi' || choices.firmwareType === 'bios') return choices.firmwareType;
  return existsSync(efiVars) ? 'efi' : 'bios';
}

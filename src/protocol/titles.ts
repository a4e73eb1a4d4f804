// The lines people read, wherever they show: the phases' titles, what became of
// an installer choice, how this machine compares with the ISO's hardware profiles.
import type { AppliedChoice, MachineHardware } from './messages.js';
import type { Phase } from './vocabularies.js';

export const PHASE_TITLES: Record<Phase, string> = {
  validate: 'Checking the configuration against your choices',
  partition: 'Partitioning the disk',
  format: 'Creating the file systems',
  mount: 'Mounting the new file systems',
  stage: 'Copying the configuration to the target',
  hardware: 'Generating the hardware configuration',
  build: 'Building the system from the local store',
  copy: 'Copying the system to the target',
  install: 'Installing the boot loader and activating',
  report: 'Writing the install log',
};

export function choiceLine(choice: AppliedChoice): string {
  return choice.applied ? `${choice.option}: ${choice.chosen} (applied)` : `${choice.option}: ${choice.chosen} (the configuration sets ${choice.result === null ? 'it otherwise' : JSON.stringify(choice.result)}; it wins)`;
}

export function profileLine(match: Pick<MachineHardware, 'matches' | 'closest' | 'missing'>, count: number): string {
  if (count === 0) return 'the ISO lists no hardware profiles';
  if (match.matches) return `this machine matches the ISO's hardware profile "${match.matches}"`;
  return `this machine matches none of the ISO's ${count} hardware profiles; closest: "${match.closest}", which lacks: ${match.missing.join('; ')}`;
}

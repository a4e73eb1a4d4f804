// The lines people read, wherever they show: what became of an installer
// choice, how this machine compares with the ISO's hardware profiles (the
// phases' titles are in nix/install-phases.json, install-phases.ts).
import { CHOICE_OPTIONS } from './choice-options.js';
import type { AppliedChoice, MachineHardware, ValidationResult } from './messages.js';

export function choiceLine(choice: AppliedChoice): string {
  return choice.applied ? `${choice.option}: ${choice.chosen} (applied)` : `${choice.option}: ${choice.chosen} (the configuration sets ${choice.result === null ? 'it otherwise' : JSON.stringify(choice.result)}; it wins)`;
}

export function profileLine(match: Pick<MachineHardware, 'matches' | 'closest' | 'missing'>, count: number): string {
  if (count === 0) return 'the ISO lists no hardware profiles';
  if (match.matches) return `this machine matches the ISO's hardware profile "${match.matches}"`;
  return `this machine matches none of the ISO's ${count} hardware profiles; closest: "${match.closest}", which lacks: ${match.missing.join('; ')}`;
}

// One line per choice for Calamares' choices page, in the words of its pages:
// the user and the desktop where their checks passed, then each choice and whether it applies.
export function choicePageLines(validation: Pick<ValidationResult, 'user' | 'desktop' | 'checks' | 'choices' | 'grub'>): string[] {
  const passed = (name: string) => validation.checks.some((c) => c.name === name && c.ok && c.skipped === undefined);
  const lines: string[] = [];
  if (validation.user && passed('user')) lines.push(`User: ${validation.user} (declared in the configuration)`);
  if (validation.desktop !== null && passed('desktop')) lines.push(`Desktop: ${validation.desktop || 'none'} (the configured one)`);
  for (const choice of validation.choices ?? []) {
    const label = CHOICE_OPTIONS[choice.setting]?.label ?? choice.option;
    if (choice.applied) lines.push(`${label}: ${choice.chosen} (applies)`);
    else lines.push(`${label}: ${choice.chosen} (does not apply: the configuration ${choice.result === null ? 'sets it otherwise' : `sets ${choice.result}`}, and it wins)`);
  }
  // Where GRUB goes, worded by grub-target.ts: the configuration's own disk wins over the partition page's.
  if (validation.grub?.text) lines.push(validation.grub.text);
  return lines;
}

// Where GRUB's boot code goes, and who chose it: the partition page (an attended
// install's bootLoaderPath) or the configuration, whose own boot.loader.grub.device
// or devices win over the page. Said in words on the choices page and in the result.
import type { GrubTarget } from './messages.js';

export function grubTargetText(target: Omit<GrubTarget, 'text'>, tense: 'goes' | 'went'): string {
  const where = `GRUB ${tense === 'goes' ? 'goes' : 'was installed'} to ${target.devices.join(', ')}`;
  if (target.chosen === null) return `${where} (set by the configuration)`;
  if (!target.overridden) return `${where} (chosen on the partition page)`;
  return `${where} (set by the configuration), not ${target.chosen} ${tense === 'goes' ? 'chosen' : 'as chosen'} on the partition page`;
}

import { describe, expect, it } from 'vitest';
import { grubTarget, installerChoicesModule } from '../../src/prepare/installer-choices.js';
import { resultText, validationText } from '../../src/cli/render.js';
import { choicePageLines } from '../../src/protocol/titles.js';
import type { ConfigFacts } from '../../src/protocol/config-facts.js';

const facts = (grubDevices: string[], grub = true) => ({ bootLoader: { systemdBoot: false, grub, grubEfi: false, grubDevices } }) as unknown as ConfigFacts;
const page = installerChoicesModule({ firmwareType: 'bios', bootLoaderPath: '/dev/sda' });

describe('where GRUB goes, in an attended install', () => {
  it('says the configuration overrides the partition page, naming both disks', () => {
    expect(grubTarget(page, facts(['/dev/vda']))).toEqual({ devices: ['/dev/vda'], chosen: '/dev/sda', overridden: true, text: 'GRUB goes to /dev/vda (set by the configuration), not /dev/sda chosen on the partition page' });
    expect(grubTarget(page, facts(['/dev/sda', '/dev/sdb']))?.text).toBe('GRUB goes to /dev/sda, /dev/sdb (set by the configuration), not /dev/sda chosen on the partition page');
  });

  it('says the partition page chose it when the configuration left it alone, and who set it when no page did', () => {
    expect(grubTarget(page, facts(['/dev/sda']))).toMatchObject({ overridden: false, text: 'GRUB goes to /dev/sda (chosen on the partition page)' });
    expect(grubTarget(installerChoicesModule({ firmwareType: 'efi', bootLoaderPath: '/dev/sda' }), facts(['nodev', '/dev/vda']))).toMatchObject({ chosen: null, text: 'GRUB goes to /dev/vda (set by the configuration)' });
  });

  it('says nothing when GRUB goes onto no disk (EFI only, or systemd-boot)', () => {
    expect(grubTarget(page, facts(['nodev']))).toBeUndefined();
    expect(grubTarget(page, facts(['/dev/vda'], false))).toBeUndefined();
  });

  it('the CLI shows the line in a check and in the result', () => {
    const grub = { devices: ['/dev/vda'], chosen: '/dev/sda', overridden: true, text: 'GRUB was installed to /dev/vda (set by the configuration), not /dev/sda as chosen on the partition page' };
    const result = { v: 1, installId: 'x', ok: true, state: 'succeeded', logPath: '/l', targetLogPath: null, toplevel: '/nix/store/x-system', durationMs: 1000, grub } as const;
    expect(resultText(result as never)).toContain(`\n  ${grub.text}`);
    const validation = { v: 1, ok: true, source: '/cfg', user: null, desktop: null, checks: [], facts: null, toBuild: [], downloads: [], grub: { ...grub, text: 'GRUB goes to /dev/vda' }, checkedAt: 'now', durationMs: 1 };
    expect(validationText(validation as never)).toContain('\n  GRUB goes to /dev/vda\n');
  });

  it("Calamares' choices page ends with it (the daemon's choiceLines)", () => {
    const text = 'GRUB goes to /dev/vda (set by the configuration), not /dev/sda chosen on the partition page';
    expect(choicePageLines({ user: null, desktop: null, checks: [], choices: [], grub: { devices: ['/dev/vda'], chosen: '/dev/sda', overridden: true, text } })).toEqual([text]);
    expect(choicePageLines({ user: null, desktop: null, checks: [], choices: [] })).toEqual([]);
  });
});

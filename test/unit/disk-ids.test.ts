// blkid's export format as the fleet receipt reads it (src/disk/disk-ids.ts):
// one block per device, keyed by DEVNAME; a partition with no file system
// (BIOS boot) still has its PARTUUID. Real output of blkid 2.38 on a GPT loop disk.
import { expect, it } from 'vitest';
import { parseBlkidExport } from '../../src/disk/disk-ids.js';

const OUTPUT = `DEVNAME=/dev/loop1
PTUUID=fa6c0c87-306e-b64b-946a-933e91b311f3
PTTYPE=gpt

DEVNAME=/dev/loop1p1
PARTUUID=e91a72e1-d7e7-5446-a948-fc4c8423c2f5

DEVNAME=/dev/loop1p2
SEC_TYPE=msdos
UUID=1CE5-B3E0
BLOCK_SIZE=512
TYPE=vfat
PARTLABEL=ESP
PARTUUID=6e2bb205-8d79-b34f-b940-88e4420eb2c1

DEVNAME=/dev/loop1p3
UUID=046528ac-1d46-4d27-ac5a-e621b16b7c69
TYPE=ext4
PARTLABEL=BIOS\\ boot=x
`;

it('reads each device block by DEVNAME, values unescaped and kept whole (an escaped space and = in a label)', () => {
  const found = parseBlkidExport(OUTPUT);
  expect([...found.keys()]).toEqual(['/dev/loop1', '/dev/loop1p1', '/dev/loop1p2', '/dev/loop1p3']);
  expect(found.get('/dev/loop1')).toEqual({ PTUUID: 'fa6c0c87-306e-b64b-946a-933e91b311f3', PTTYPE: 'gpt' });
  expect(found.get('/dev/loop1p1')).toEqual({ PARTUUID: 'e91a72e1-d7e7-5446-a948-fc4c8423c2f5' });
  expect(found.get('/dev/loop1p2')).toMatchObject({ UUID: '1CE5-B3E0', TYPE: 'vfat', PARTLABEL: 'ESP' });
  expect(found.get('/dev/loop1p3')).toMatchObject({ TYPE: 'ext4', PARTLABEL: 'BIOS boot=x' });
});

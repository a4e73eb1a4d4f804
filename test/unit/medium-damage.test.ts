// Nix's words for a live store that reads back wrong or not at all, as Nix
// 2.8 prints them (checked against real failures in test/e2e/iso-store.test.ts
// on every bed), told apart from failures of the target.
import { describe, expect, it } from 'vitest';
import { mediumDamage } from '../../src/nix/errors.js';

const PATH = '/nix/store/zz58nipg5vjb9bc44h03mhqaj4qcnxcj-random-firmware';

describe('mediumDamage', () => {
  it('a hash mismatch names the path and keeps the specified and got lines', () => {
    const damage = mediumDamage(['copying path', `error: hash mismatch importing path '${PATH}';`, '         specified: sha256:0h1x', '         got:       sha256:0i84', 'later']);
    expect(damage).toEqual({ storePath: PATH, file: null, said: `error: hash mismatch importing path '${PATH}';\nspecified: sha256:0h1x\ngot:       sha256:0i84` });
  });

  it('a failed read names the file when Nix does, and nothing when it does not', () => {
    expect(mediumDamage([`error: reading file '${PATH}/lib/x.so': Input/output error`])).toMatchObject({ storePath: PATH, file: `${PATH}/lib/x.so` });
    expect(mediumDamage(['error: reading from file: Input/output error'])).toEqual({ storePath: null, file: null, said: 'error: reading from file: Input/output error' });
  });

  it("a failed write (the target's disk) and other failures are not the medium", () => {
    expect(mediumDamage(['error: writing to file: Input/output error'])).toBeNull();
    expect(mediumDamage(['error: writing to file: No space left on device'])).toBeNull();
    expect(mediumDamage(["error: path '/nix/store/abc-x' is not valid"])).toBeNull();
  });
});

import { describe, expect, it } from 'vitest';
import { CopyProgress } from '../../src/copy/copy-progress.js';

const paths = [
  { path: '/nix/store/a-small', narSize: 100 },
  { path: '/nix/store/b-big', narSize: 900 },
];

describe('CopyProgress', () => {
  it('weights progress by bytes, counting the path being copied from what is on disk', () => {
    const p = new CopyProgress(paths);
    expect(p.fraction()).toBe(0);
    p.start('/nix/store/a-small');
    p.sample('/nix/store/a-small', 50);
    expect(p.counts()).toEqual({ bytesDone: 50, bytesTotal: 1000, pathsDone: 0, pathsTotal: 2 });
    p.finish('/nix/store/a-small');
    p.start('/nix/store/b-big');
    expect(p.counts()).toMatchObject({ bytesDone: 100, pathsDone: 1 });
    p.sample('/nix/store/b-big', 450);
    expect(p.fraction()).toBeCloseTo(0.55);
    p.finishAll();
    expect(p.counts()).toEqual({ bytesDone: 1000, bytesTotal: 1000, pathsDone: 2, pathsTotal: 2 });
  });

  it('never goes back, never counts a path as done before Nix says so, ignores stale samples', () => {
    const p = new CopyProgress(paths);
    p.start('/nix/store/b-big');
    p.sample('/nix/store/b-big', 600);
    p.sample('/nix/store/b-big', 300);
    expect(p.counts().bytesDone).toBe(600);
    p.sample('/nix/store/b-big', 5000);
    expect(p.counts().bytesDone).toBe(899);
    p.sample('/nix/store/a-small', 100);
    expect(p.counts().bytesDone).toBe(899);
  });

  it('ignores paths outside the set to copy and an empty set is complete', () => {
    const p = new CopyProgress(paths);
    p.start('/nix/store/zzz-already-there');
    expect(p.currentPaths).toEqual([]);
    expect(new CopyProgress([]).fraction()).toBe(1);
  });

  it('counts paths copied at once (newer Nix), each done only when Nix says so', () => {
    const p = new CopyProgress(paths);
    p.start('/nix/store/a-small');
    p.start('/nix/store/b-big');
    p.sample('/nix/store/a-small', 60);
    p.sample('/nix/store/b-big', 300);
    expect(p.counts()).toMatchObject({ bytesDone: 360, pathsDone: 0 });
    p.finish('/nix/store/b-big');
    expect(p.counts()).toMatchObject({ bytesDone: 960, pathsDone: 1 });
    expect(p.currentPaths).toEqual(['/nix/store/a-small']);
  });

  it("takes Nix's own byte counts (Nix 2.26 and newer) and then needs no sampling of the target", () => {
    const p = new CopyProgress(paths);
    p.start('/nix/store/b-big');
    expect(p.countedByNix).toBe(false);
    p.copied('/nix/store/b-big', 400);
    expect(p.countedByNix).toBe(true);
    expect(p.counts()).toMatchObject({ bytesDone: 400, pathsDone: 0 });
    // A count never makes the path whole: it is done only when Nix stops its copy.
    p.copied('/nix/store/b-big', 900);
    expect(p.counts().bytesDone).toBe(899);
    p.finish('/nix/store/b-big');
    expect(p.counts()).toMatchObject({ bytesDone: 900, pathsDone: 1 });
  });

  it("counts the time left's work in the medium's pieces each path reads, a piece shared by two paths once", () => {
    const toCopy = [...paths, { path: '/nix/store/c-built-live', narSize: 50 }];
    // a reads x and the fragment block y; b reads y too, and z; c was built on the live system: on no medium.
    const onMedium = new Map([
      ['a-small', new Map([['x', 100], ['fragment y', 50]])],
      ['b-big', new Map([['fragment y', 50], ['z', 200]])],
    ]);
    const p = new CopyProgress(toCopy, onMedium);
    expect(p.workTotal).toEqual({ bytes: 350, paths: 3 });
    p.start('/nix/store/a-small');
    p.sample('/nix/store/a-small', 50);
    expect(p.work()).toEqual({ bytes: 75, paths: 0.5 });
    p.finish('/nix/store/a-small');
    p.start('/nix/store/b-big');
    p.sample('/nix/store/b-big', 450);
    expect(p.work()).toEqual({ bytes: 250, paths: 1.5 });
    p.finish('/nix/store/b-big');
    p.start('/nix/store/c-built-live');
    p.finish('/nix/store/c-built-live');
    expect(p.work()).toEqual({ bytes: 350, paths: 3 });
    // Without the medium's pieces: NAR bytes.
    expect(new CopyProgress(toCopy).workTotal).toEqual({ bytes: 1050, paths: 3 });
  });

  it("counts what the medium's device served as done before Nix reports it, never more than the whole", () => {
    const onMedium = new Map([
      ['a-small', new Map([['x', 100]])],
      ['b-big', new Map([['z', 200]])],
    ]);
    const p = new CopyProgress(paths, onMedium);
    p.start('/nix/store/a-small');
    p.sample('/nix/store/a-small', 50);
    // Nix has reported half of a; the medium has served all of a and some of b (read ahead).
    p.served(160);
    expect(p.work()).toEqual({ bytes: 160, paths: 0.5 });
    // A count going back (another reader's, read again) is not taken.
    p.served(120);
    expect(p.work().bytes).toBe(160);
    // The live desktop reads the medium too: never past the whole.
    p.served(10_000);
    expect(p.work().bytes).toBe(300);
    // What Nix reports still counts where it is ahead of the medium's count (pieces cached before the copy).
    const cached = new CopyProgress(paths, onMedium);
    cached.served(20);
    cached.start('/nix/store/a-small');
    cached.finish('/nix/store/a-small');
    expect(cached.work().bytes).toBe(100);
  });
});

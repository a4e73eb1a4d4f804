import { describe, expect, it } from 'vitest';
import { nixErrorLocation, nixErrorSummary, wantsNetwork } from '../../src/build/nix-error.js';

const syntax = [
  "these 2 derivations will be built:",
  "error: syntax error, unexpected '=', expecting ';'",
  '',
  '       at /mnt/etc/nixos/configuration.nix:4:10:',
  '',
  '            3|   a = 1',
];

describe('Nix error summaries', () => {
  it('keeps the error and its location, drops what came before', () => {
    const summary = nixErrorSummary(syntax);
    expect(summary.startsWith("error: syntax error")).toBe(true);
    expect(summary).toContain('at /mnt/etc/nixos/configuration.nix:4:10:');
    expect(summary).not.toContain('derivations will be built');
  });

  it('falls back to the last lines when there is no error: line', () => {
    expect(nixErrorSummary(['a', 'b', 'c'], 2)).toBe('b\nc');
  });

  it('finds the file, line and column', () => {
    expect(nixErrorLocation(syntax)).toEqual({ file: '/mnt/etc/nixos/configuration.nix', line: 4, column: 10 });
    expect(nixErrorLocation(['error: x'])).toBeNull();
  });

  it('recognises a download attempt', () => {
    expect(wantsNetwork(["error: unable to download 'https://example.invalid/x.tar.gz': Couldn't resolve host name (6)"])).toBe(true);
    expect(wantsNetwork(syntax)).toBe(false);
  });
});

// The live page's own files as served: what the browser test (test/e2e/fleet-page.test.ts)
// cannot tell apart from a page that merely failed to start.
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { PAGE_FILES, PAGE_POLICY } from '../../src/fleet/live-page.js';

describe('the live page', () => {
  it("holds a script that parses (it is kept as a string, so tsc never reads it)", () => {
    expect(() => new Script(PAGE_FILES['/page.js']!.body, { filename: 'page.js' })).not.toThrow();
  });

  it('loads nothing but its own files: no inline script or style, which its policy would block', () => {
    const html = PAGE_FILES['/']!.body;
    const loaded = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]);
    expect(loaded.sort()).toEqual(['/page.css', '/page.js']);
    expect(html).not.toMatch(/<script>|<style|style="|\son[a-z]+=/);
    expect(PAGE_POLICY).toContain("default-src 'none'");
    expect(PAGE_POLICY).not.toContain('unsafe');
  });

  it('never parses what targets sent as HTML', () => {
    expect(PAGE_FILES['/page.js']!.body).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write/);
  });
});

// The seed's live page in a real browser: Debian's Chromium, headless, in the
// seed's network namespace, opens http://<seed>:<port>/#<secret> as `fleet
// serve` prints it, while the real daemon serves a fleet whose targets were
// checked and built by it (as in fleet-targets.test.ts) and report over HTTP
// from their own namespace (curl). The rendered DOM is read back over the
// DevTools protocol as targets change state.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, chromiumMissing, profileDir } from '../helpers/chromium.js';
import { startCli, type CliHandle } from '../helpers/cli.js';
import { cleanUp, type RunningDaemon } from '../helpers/daemon.js';
import { scratch } from '../helpers/env.js';
import { curl, fleetBed, fleetRequest, HARDWARE, SEAL } from '../helpers/fleet.js';
import { Namespaces } from '../helpers/netns.js';

const NET = '10.79.0';
const SEED = `${NET}.1`;
const PORT = '8473';
const URL = `http://${SEED}:${PORT}`;
const INSTALLING = '52:54:00:00:02:01';
const FAILED = '52:54:00:00:02:02';
// Long enough for an evaluation and build of the stand-in system on a loaded machine (as fleet-targets').
const CHECK_DEADLINE_MS = 240_000;
// The page asks every 2 s; this leaves room for a loaded machine.
const PAGE_DEADLINE_MS = 30_000;
// What a target on the LAN may send as its error: markup that would run or load if the page parsed it as HTML.
const HOSTILE_TITLE = '<script>window.pwned = 1</script> disk & "partition" failed';
const HOSTILE_DESCRIPTION = '<img src=x onerror="window.pwned = 2"><b>bold?</b>';

let dir: string;
let daemon: RunningDaemon | null = null;
let serve: CliHandle | null = null;
let browser: Browser | null = null;
let secret = '';
let pageUrl = '';
const ns = new Namespaces();
let seed: string;
let target: string;
let serveArgs: string[];

const request = (path: string, body?: unknown, token: string | null = secret) => fleetRequest(target, `${URL}${path}`, token, body);

async function waitForState(mac: string, state: string): Promise<void> {
  const deadline = Date.now() + CHECK_DEADLINE_MS;
  for (;;) {
    const found = request('/targets').json.targets.find((t: { mac: string }) => t.mac === mac);
    if (found?.state === state) return;
    if (found?.state === 'failed' || Date.now() > deadline) throw new Error(`${mac} is ${JSON.stringify(found)}, not ${state}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface Shown {
  status: string;
  rows: { mac: string; state: string; phase: string; progress: string; copied: string; detail: string; markup: number }[];
  receipt: string | null;
  pwned: unknown;
}

// What the page shows now: each row's cells as text, and how many elements the targets' texts made (none may).
const SHOWN = `({
  status: document.getElementById('status')?.textContent ?? '',
  rows: [...document.querySelectorAll('#targets tbody tr')].map((tr) => ({
    mac: tr.querySelector('.mac').textContent, state: tr.querySelector('.state').textContent, phase: tr.querySelector('.phase').textContent,
    progress: tr.querySelector('.progress').textContent, copied: tr.querySelector('.copied').textContent, detail: tr.querySelector('.detail').textContent,
    markup: tr.querySelectorAll('script, img, b').length,
  })),
  receipt: document.getElementById('receipt')?.hidden !== false ? null : document.querySelector('#receipt pre').textContent,
  pwned: window.pwned ?? null,
})`;

const row = (shown: Shown, mac: string) => shown.rows.find((r) => r.mac === mac);

beforeAll(async () => {
  // A missing browser is the test bed's fault, said as such, never a skip.
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  dir = await scratch('fleet-page');
  ({ seed, target, daemon, serveArgs } = await fleetBed(dir, ns, NET, PORT));
  // Not --json: the address is taken from what a technician reads.
  serve = startCli(['fleet', 'serve', '--socket', daemon.socket, ...serveArgs]);
  await serve.waitForStdout(/live page: \S+/);
  pageUrl = /live page: (\S+)/.exec(serve.stdout())![1]!;
  secret = /#([0-9a-f]{64})$/.exec(pageUrl)![1]!;
  expect(pageUrl).toBe(`${URL}/#${secret}`);
  // Both targets checked and built by the seed: both have the go.
  for (const mac of [INSTALLING, FAILED]) expect(request('/targets', { mac, hardware: HARDWARE, sealKey: SEAL.publicKey }).status).toBe(200);
  await waitForState(INSTALLING, 'installing');
  await waitForState(FAILED, 'installing');
  browser = await Browser.open(seed, profileDir(dir));
}, CHECK_DEADLINE_MS * 2);

afterAll(async () => {
  await browser?.close();
  serve?.signal('SIGINT');
  await serve?.done;
  await cleanUp(dir, daemon);
  ns.remove();
});

describe("the seed's live page", () => {
  it('is served with a policy that allows nothing but the seed, and keeps no secret in what it serves', () => {
    const page = curl(seed, ['-D', '-', `${URL}/`]);
    expect(page.status).toBe(200);
    expect(page.body.toLowerCase()).toContain("content-security-policy: default-src 'none'; script-src 'self'");
    expect(page.body).not.toContain(secret);
    expect(curl(seed, [`${URL}/page.js`]).body).not.toContain(secret);
  });

  it("shows every target, a failed target's error as text (never markup), and where to read more", async () => {
    expect(request(`/targets/${INSTALLING}/report`, { state: 'installing', phase: 'copy', fraction: 0.4, bytesCopied: 3 * 1024 ** 2, copyStartedMs: 1_000, copyEndedMs: null, error: null }).status).toBe(200);
    expect(request(`/targets/${FAILED}/report`, { state: 'failed', phase: 'partition', fraction: 0, bytesCopied: 0, copyStartedMs: null, copyEndedMs: null, error: { code: 'disk-busy', title: HOSTILE_TITLE, description: HOSTILE_DESCRIPTION } }).status).toBe(200);
    await browser!.navigate(pageUrl);
    const shown = await browser!.waitFor<Shown>(SHOWN, (s) => s.rows.length === 2 && row(s, FAILED)?.state === 'failed', PAGE_DEADLINE_MS, 'both targets');
    expect(shown.status).toMatch(/^Updated /);
    expect(row(shown, INSTALLING)).toMatchObject({ state: 'installing', phase: 'copy', progress: expect.stringContaining('40 %'), copied: '3.0 MiB' });
    const failed = row(shown, FAILED)!;
    expect(failed).toMatchObject({ state: 'failed', phase: 'partition', markup: 0 });
    expect(failed.detail).toContain(HOSTILE_TITLE);
    expect(failed.detail).toContain(HOSTILE_DESCRIPTION);
    expect(failed.detail).toContain("the target's console and /var/log/nixos-offline-installer on the target");
    expect(failed.detail).toContain('journalctl -u nixos-offline-installer');
    expect(shown.pwned).toBeNull();
  });

  it('updates as a target changes state, and shows the receipt of one that succeeded', async () => {
    const receipt = { mac: INSTALLING, system: '/nix/store/00000000000000000000000000000000-nixos-system-fleet-01', disk: '/dev/vda', note: '<script>window.pwned = 3</script>' };
    expect(request(`/targets/${INSTALLING}/report`, { state: 'succeeded', phase: 'report', fraction: 1, bytesCopied: 8 * 1024 ** 2, copyStartedMs: 1_000, copyEndedMs: 5_000, error: null, receipt }).status).toBe(200);
    const shown = await browser!.waitFor<Shown>(SHOWN, (s) => row(s, INSTALLING)?.state === 'succeeded', PAGE_DEADLINE_MS, `${INSTALLING} succeeded`);
    expect(row(shown, INSTALLING)).toMatchObject({ phase: 'report', progress: expect.stringContaining('100 %'), copied: '8.0 MiB in 4 s' });
    expect(row(shown, INSTALLING)!.detail).toContain(join(dir, 'fleet', 'receipts', `${INSTALLING}.json`));
    await browser!.evaluate(`document.querySelector('#targets tr[data-mac="${INSTALLING}"] button.receipt').click()`);
    const opened = await browser!.waitFor<Shown>(SHOWN, (s) => s.receipt !== null && s.receipt.includes('nixos-system-fleet-01'), PAGE_DEADLINE_MS, 'the receipt');
    expect(JSON.parse(opened.receipt!)).toEqual(receipt);
    expect(opened.receipt).toBe(await readFile(join(dir, 'fleet', 'receipts', `${INSTALLING}.json`), 'utf8'));
    expect(opened.pwned).toBeNull();
  });

  it('says what to open when the secret in the address is wrong or missing', async () => {
    // From another document each time: a change of the fragment alone would not load the page again.
    await browser!.navigate('about:blank');
    await browser!.navigate(`${URL}/#${'0'.repeat(64)}`);
    const wrong = await browser!.waitFor<Shown>(SHOWN, (s) => s.status.includes('refused'), PAGE_DEADLINE_MS, 'the refusal');
    expect(wrong.status).toContain('http://<seed>:<port>/#<secret>');
    expect(wrong.rows).toEqual([]);
    await browser!.navigate('about:blank');
    await browser!.navigate(`${URL}/`);
    const none = await browser!.waitFor<Shown>(SHOWN, (s) => s.status.includes('lacks'), PAGE_DEADLINE_MS, 'the missing secret');
    expect(none.rows).toEqual([]);
  });

  it('serves a receipt only with the secret and only for a target that has one', () => {
    expect(request(`/receipts/${INSTALLING}.json`, undefined, null).status).toBe(403);
    expect(request(`/receipts/${FAILED}.json`).status).toBe(404);
    expect(request('/receipts/..%2Ftargets%2F52:54:00:00:02:01.json').status).toBe(404);
    const own = request(`/receipts/${INSTALLING}.json`);
    expect(own.status).toBe(200);
    expect(own.json.mac).toBe(INSTALLING);
  });
});

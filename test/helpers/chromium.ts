// Debian's Chromium, headless, driven over the DevTools protocol on a pipe
// (--remote-debugging-pipe: the browser reads commands on fd 3 and answers on
// fd 4, each message ended by a NUL byte), in a network namespace: a real
// browser opening a page, running its script, and read back as it changes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { netnsCommand } from './netns.js';

export const CHROMIUM = '/usr/bin/chromium';

// Why Chromium cannot start here (a test bed without it), or null.
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed on this test bed: scripts/bed-packages.sh lists chromium (setup.sh and bed-build.sh install the list)`;
}

type Message = { id?: number; method?: string; params?: any; result?: any; error?: { message: string }; sessionId?: string };

export class Browser {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (m: Message) => void; reject: (e: Error) => void }>();
  private buffer = '';
  private stderr = '';
  private sessionId = '';

  private constructor(private readonly child: ChildProcess) {
    const output = child.stdio[4] as Readable;
    output.setEncoding('utf8');
    output.on('data', (chunk: string) => {
      this.buffer += chunk;
      for (let end = this.buffer.indexOf('\0'); end >= 0; end = this.buffer.indexOf('\0')) {
        const message = JSON.parse(this.buffer.slice(0, end)) as Message;
        this.buffer = this.buffer.slice(end + 1);
        const waiter = message.id !== undefined ? this.waiting.get(message.id) : undefined;
        if (!waiter) continue;
        this.waiting.delete(message.id!);
        if (message.error) waiter.reject(new Error(`${message.error.message}\nChromium said: ${this.stderr.slice(-2000)}`));
        else waiter.resolve(message);
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => (this.stderr += chunk));
    child.once('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`Chromium exited (${code ?? signal}): ${this.stderr.slice(-2000)}`));
      this.waiting.clear();
    });
  }

  // A fresh profile in PROFILE; the browser's network is NETNS's.
  static async open(netns: string, profile: string): Promise<Browser> {
    await mkdir(profile, { recursive: true });
    const flags = [
      '--headless',
      // The tests run as root, where Chromium's sandbox refuses to start (it needs an unprivileged user); the page is the test's own.
      '--no-sandbox',
      // A chroot test bed has no /dev/shm of its own (bed-chroot.sh binds /dev alone): shared memory goes to /tmp.
      '--disable-dev-shm-usage',
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-extensions',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--remote-debugging-pipe',
      `--user-data-dir=${profile}`,
      'about:blank',
    ];
    const [file, ...args] = netnsCommand(netns, [CHROMIUM, ...flags]);
    const child = spawn(file!, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'], env: { ...process.env, HOME: profile }, detached: true });
    const browser = new Browser(child);
    const { targetId } = (await browser.send('Target.createTarget', { url: 'about:blank' })).result;
    browser.sessionId = (await browser.send('Target.attachToTarget', { targetId, flatten: true })).result.sessionId;
    return browser;
  }

  send(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Message> {
    const id = this.nextId++;
    const input = this.child.stdio[3] as Writable;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      input.write(`${JSON.stringify({ id, method, params, ...(sessionId && { sessionId }) })}\0`);
    });
  }

  async navigate(url: string): Promise<void> {
    const reply = await this.send('Page.navigate', { url }, this.sessionId);
    if (reply.result?.errorText) throw new Error(`Chromium could not open ${url}: ${reply.result.errorText}`);
  }

  // EXPRESSION's value in the page (JSON-able).
  async evaluate<T>(expression: string): Promise<T> {
    const reply = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, this.sessionId);
    if (reply.result.exceptionDetails) throw new Error(`the page threw: ${JSON.stringify(reply.result.exceptionDetails)}`);
    return reply.result.result.value as T;
  }

  // Polls EXPRESSION until CHECK takes its value, or the deadline: then throws with the last value seen.
  // An evaluation that fails (the page is between documents) is tried again.
  async waitFor<T>(expression: string, check: (value: T) => boolean, deadlineMs: number, what: string): Promise<T> {
    const deadline = Date.now() + deadlineMs;
    let last: unknown = null;
    for (;;) {
      try {
        const value = await this.evaluate<T>(expression);
        if (check(value)) return value;
        last = value;
      } catch (error) {
        if (this.child.exitCode !== null || this.child.signalCode !== null) throw error;
        last = String(error);
      }
      if (Date.now() > deadline) throw new Error(`the page did not show ${what} within ${deadlineMs / 1000} s; it shows ${JSON.stringify(last)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  // Ends the browser and every process it started (its own process group).
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    // Killed (its whole group) if it does not close by itself.
    const timer = setTimeout(() => {
      try {
        process.kill(-this.child.pid!, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }, 5000);
    void this.send('Browser.close').catch(() => undefined);
    await exited;
    clearTimeout(timer);
  }
}

export function profileDir(dir: string): string {
  return join(dir, 'chromium-profile');
}

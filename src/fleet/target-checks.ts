// The seed's check of each registered target, one at a time (the seed's CPU
// and memory do not grow with the fleet): the target's system prepared from
// its answer file and hardware probe, checked as an unattended install is, and
// built in the seed's store (src/job/fleet-check-stages.ts, through the same
// runInstall as every install, with its own log on the seed). A pass is the
// target's go; a refusal is its failed state, with the error.
import { randomBytes } from 'node:crypto';
import type { InstallParams } from '../job/run-install.js';
import { runInstall } from '../job/run-install.js';
import { fleetCheckPipeline, type BuiltTarget } from '../job/fleet-check-stages.js';
import { PROTOCOL_VERSION } from '../protocol/messages.js';
import { chooseSource } from '../resolve/config-sources.js';
import { errorMessage } from '../common/install-error.js';
import type { TargetRegistry } from './targets.js';

export type SeedSettings = InstallParams['settings'];

export class TargetChecks {
  private readonly queue: string[] = [];
  private current: Promise<void> | null = null;
  private readonly controller = new AbortController();

  constructor(
    private readonly registry: TargetRegistry,
    private readonly settings: SeedSettings,
    private readonly log: (message: string, fields?: Record<string, unknown>) => void,
  ) {}

  add(mac: string): void {
    if (this.controller.signal.aborted || this.queue.includes(mac)) return;
    this.queue.push(mac);
    this.next();
  }

  private next(): void {
    if (this.current || this.controller.signal.aborted) return;
    const mac = this.queue.shift();
    if (mac === undefined) return;
    this.current = this.check(mac)
      .catch((error: unknown) => this.log('a target check failed unexpectedly', { mac, err: errorMessage(error) }))
      .finally(() => {
        this.current = null;
        this.next();
      });
  }

  private async check(mac: string): Promise<void> {
    const record = this.registry.get(mac);
    if (!record?.answers || record.target.state !== 'waiting') return;
    // A target that registers again meanwhile is a new record: this check's outcome is then dropped.
    const current = () => this.registry.get(mac) === record;
    await this.registry.checking(mac, 'hardware', 0);
    const installId = `fleet-${mac.replaceAll(':', '')}-${randomBytes(3).toString('hex')}`;
    let phase = 'hardware';
    let closure: BuiltTarget | null = null;
    const result = await runInstall({
      installId,
      request: { v: PROTOCOL_VERSION, id: installId, answers: record.answers.file },
      source: chooseSource(this.settings.configDirs, this.settings.socketGid),
      settings: this.settings,
      signal: this.controller.signal,
      sink: {
        phase: (event) => {
          phase = event.phase;
          if (current()) void this.registry.checking(mac, phase, record.target.fraction);
        },
        progress: (event) => {
          if (current()) this.registry.progress(mac, phase, event.fraction);
        },
        log: () => undefined,
      },
      pipeline: fleetCheckPipeline({ mac, answers: record.answers, hardware: record.hardware, configArchive: this.registry.configArchive(mac) }, (measured) => (closure = measured)),
    });
    if (!current() || this.controller.signal.aborted) return;
    this.log(result.ok ? 'target checked: its system is built' : 'target refused', { mac, system: result.toplevel, log: result.logPath, error: result.error?.title ?? null });
    // The target checks its disk holds the closure, as an unattended install does.
    if (result.ok && result.toplevel && closure) return this.registry.go(mac, result.toplevel, closure);
    const error: { code: string; title: string; description: string; field?: string } = result.error ?? { code: 'internal-error', title: 'The check ended without a result', description: 'This is a bug in the installer.' };
    await this.registry.fail(mac, { code: error.code, title: error.title, description: `${error.description}${result.logPath ? `\nThe seed's log of this check: ${result.logPath}` : ''}`, ...(error.field !== undefined && { field: error.field }) });
  }

  // The fleet ends: the check running now is cancelled (its commands ended) and none starts.
  async stop(): Promise<void> {
    this.queue.splice(0);
    this.controller.abort('cancel');
    await this.current;
  }
}

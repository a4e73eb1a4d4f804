// The fleet's targets: who registered, with which answer file, and how far
// each got. Kept in memory and, for a look after a crash, one file per target
// in the fleet's state folder (named by the MAC only once it passed MAC_ADDRESS).
import { lstat, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AnswerError } from '../common/answers.js';
import { errorMessage } from '../common/install-error.js';
import { readAnswers } from '../answers/read-answers.js';
import type { FleetTarget, FleetTargetState } from '../protocol/fleet.js';

// Lower case, colons: the form answer files are named by (DIR/<mac>.json).
export const MAC_ADDRESS = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
export const DEFAULT_ANSWERS = 'default.json';
// A fleet is 5 to 50 machines; a registry far larger is a runaway client, not a fleet.
export const MAX_TARGETS = 256;

export interface Registration {
  target: FleetTarget;
  // The answer file chosen and the disk it names (absent when it was refused).
  answerFile: string | null;
  disk: string | null;
}

export class TargetRegistry {
  private readonly targets = new Map<string, FleetTarget>();

  constructor(
    private readonly answersDir: string,
    private readonly stateDir: string,
  ) {}

  list(): FleetTarget[] {
    return [...this.targets.values()];
  }

  get full(): boolean {
    return this.targets.size >= MAX_TARGETS;
  }

  // The target's answer file: its own, else the fleet's default; checked as an unattended install's would be.
  async register(mac: string): Promise<Registration> {
    if (!MAC_ADDRESS.test(mac)) throw new Error(`not a MAC address: ${mac.slice(0, 32)}`);
    const own = join(this.answersDir, `${mac}.json`);
    const fallback = join(this.answersDir, DEFAULT_ANSWERS);
    const chosen = (await exists(own)) ? own : fallback;
    try {
      const answers = await readAnswers(chosen);
      const target = await this.record(mac, 'waiting', null);
      return { target, answerFile: answers.file, disk: answers.disk };
    } catch (error) {
      const found = error instanceof AnswerError ? { title: error.title, description: error.description, field: error.field } : { title: `The answer file ${chosen} could not be read`, description: errorMessage(error), field: 'answers' };
      const missing = chosen === fallback && !(await exists(fallback));
      const described = missing ? { title: `No answer file for ${mac}`, description: `Neither ${own} nor ${chosen} exists. Write one of them (the fields of an unattended install's install.json; docs/answers.schema.json), then restart the target.`, field: 'answers' } : found;
      const target = await this.record(mac, 'failed', { code: 'bad-answers', ...described });
      return { target, answerFile: null, disk: null };
    }
  }

  private async record(mac: string, state: FleetTargetState, error: FleetTarget['error']): Promise<FleetTarget> {
    const target: FleetTarget = { mac, state, phase: null, fraction: 0, bytesCopied: 0, copyStartedMs: null, copyEndedMs: null, error, receipt: null };
    this.targets.set(mac, target);
    const file = join(this.stateDir, `${mac}.json`);
    await writeFile(`${file}.tmp`, `${JSON.stringify(target)}\n`, { mode: 0o600, flag: 'w' });
    await rename(`${file}.tmp`, file);
    return target;
  }
}

// A target's own answer file counts once it is there at all: a broken one is refused, never passed over for the default.
async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null)) !== null;
}

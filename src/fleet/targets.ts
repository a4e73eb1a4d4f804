// The fleet's targets: who registered, with which answer file and hardware,
// and how far each got. Kept in memory and, for a look after a crash, one file
// per target in the fleet's state folder (named by the MAC only once it passed
// MAC_ADDRESS); a receipt is kept there too, as the seed's own file, and the
// configuration the seed checked for it, packed for its /etc/nixos.
import { lstat, mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AnswerError, type Answers } from '../common/answers.js';
import { errorMessage } from '../common/install-error.js';
import { readAnswers } from '../answers/read-answers.js';
import type { BuiltTarget } from '../job/fleet-check-stages.js';
import type { StorePathInfo } from '../nix/commands.js';
import type { DiskoFacts, FlakeInput } from '../protocol/config-facts.js';
import type { FleetRegistration, FleetReport, FleetTarget, TargetError, TargetHardware } from '../protocol/fleet.js';
import { MAC_ADDRESS } from './target-messages.js';

export const DEFAULT_ANSWERS = 'default.json';
// A fleet is 5 to 50 machines; a registry far larger is a runaway client, not a fleet.
export const MAX_TARGETS = 256;

// What the seed knows of a target beside its public entry.
export interface TargetRecord {
  target: FleetTarget;
  hardware: TargetHardware;
  // The target's key for this install: the go's secrets are sealed to it.
  sealKey: string;
  // The answer file chosen and what it says (null when it was refused).
  answers: Answers | null;
  // The system the seed built for it and its closure's size: the target's go (state installing).
  system: string | null;
  closureBytes: number | null;
  closurePaths: number | null;
  closureHash: string | null;
  closure: StorePathInfo[];
  flakeInputs: FlakeInput[];
  disko: DiskoFacts | null;
  // What the seed's check of it warned of, for its receipt.
  checkWarnings: string[];
}

// Why a report is not taken: the target's state does not allow it.
export class StateConflict extends Error {}

export class TargetRegistry {
  private readonly targets = new Map<string, TargetRecord>();

  constructor(
    private readonly answersDir: string,
    // The fleet's state folder: targets/<mac>.json, receipts/<mac>.json and configs/<mac>.tar beneath it (made by start).
    private readonly fleetDir: string,
  ) {}

  async start(): Promise<void> {
    await mkdir(join(this.fleetDir, 'targets'), { mode: 0o700 });
    await mkdir(join(this.fleetDir, 'receipts'), { mode: 0o700 });
    await mkdir(join(this.fleetDir, 'configs'), { mode: 0o700 });
  }

  // Where the check packs MAC's configuration; served to the target once it has the go (a MAC_ADDRESS only).
  configArchive(mac: string): string {
    if (!MAC_ADDRESS.test(mac)) throw new Error(`not a MAC address: ${mac.slice(0, 32)}`);
    return join(this.fleetDir, 'configs', `${mac}.tar`);
  }

  list(): FleetTarget[] {
    return [...this.targets.values()].map((r) => r.target);
  }

  get(mac: string): TargetRecord | undefined {
    return this.targets.get(mac);
  }

  get full(): boolean {
    return this.targets.size >= MAX_TARGETS;
  }

  // The target's answer file: its own, else the fleet's default; checked as an unattended install's would be.
  // A target registering again (it restarted) starts over.
  async register({ mac, hardware, sealKey }: FleetRegistration): Promise<TargetRecord> {
    if (!MAC_ADDRESS.test(mac)) throw new Error(`not a MAC address: ${mac.slice(0, 32)}`);
    const own = join(this.answersDir, `${mac}.json`);
    const fallback = join(this.answersDir, DEFAULT_ANSWERS);
    const chosen = (await exists(own)) ? own : fallback;
    const record: TargetRecord = { target: blank(mac), hardware, sealKey, answers: null, system: null, closureBytes: null, closurePaths: null, closureHash: null, closure: [], flakeInputs: [], disko: null, checkWarnings: [] };
    this.targets.set(mac, record);
    try {
      record.answers = await readAnswers(chosen);
      await this.update(mac, { state: 'waiting' });
    } catch (error) {
      const found = error instanceof AnswerError ? { title: error.title, description: error.description, field: error.field } : { title: `The answer file ${chosen} could not be read`, description: errorMessage(error), field: 'answers' };
      const missing = chosen === fallback && !(await exists(fallback));
      const described = missing ? { title: `No answer file for ${mac}`, description: `Neither ${own} nor ${chosen} exists. Write one of them (the fields of an unattended install's install.json; docs/answers.schema.json), then restart the target.`, field: 'answers' } : found;
      await this.update(mac, { state: 'failed', error: { code: 'bad-answers', ...described } });
    }
    return record;
  }

  // The seed's own steps: checking (with its phase), the go (the system built), or a refusal.
  async checking(mac: string, phase: string, fraction: number): Promise<void> {
    await this.update(mac, { state: 'checking', phase, fraction });
  }

  // Progress within the check, kept in memory only (the file follows the next change of phase or state).
  progress(mac: string, phase: string, fraction: number): void {
    const record = this.targets.get(mac);
    if (record?.target.state === 'checking') record.target = { ...record.target, phase, fraction };
  }

  async go(mac: string, system: string, built: BuiltTarget): Promise<void> {
    Object.assign(this.targets.get(mac)!, { system, closureBytes: built.bytes, closurePaths: built.paths, closureHash: built.hash, closure: built.closure, flakeInputs: built.flakeInputs, disko: built.disko, checkWarnings: built.warnings });
    await this.update(mac, { state: 'installing', phase: null, fraction: 0 });
  }

  async fail(mac: string, error: TargetError): Promise<void> {
    await this.update(mac, { state: 'failed', error });
  }

  // What the target says: progress once it has the go, and its end (a failure at any time before its end).
  async report(mac: string, report: FleetReport): Promise<FleetTarget> {
    const record = this.targets.get(mac);
    if (!record) throw new StateConflict(`${mac} has not registered with this fleet; a target registers first (POST /targets).`);
    const now = record.target.state;
    if (now === 'succeeded' || now === 'failed') throw new StateConflict(`${mac} has ${now} already; register again to start over.`);
    if (report.state !== 'failed' && now !== 'installing') throw new StateConflict(`${mac} is ${now}: the seed has not given it the go to install yet.`);
    const { receipt, ...fields } = report;
    let receiptPath: string | null = null;
    if (receipt !== undefined) {
      receiptPath = join(this.fleetDir, 'receipts', `${mac}.json`);
      await writeAtomically(receiptPath, `${JSON.stringify(receipt, null, 2)}\n`);
    }
    return this.update(mac, { ...fields, ...(receiptPath !== null && { receipt: receiptPath }) });
  }

  private async update(mac: string, change: Partial<FleetTarget>): Promise<FleetTarget> {
    const record = this.targets.get(mac)!;
    record.target = { ...record.target, ...change };
    await writeAtomically(join(this.fleetDir, 'targets', `${mac}.json`), `${JSON.stringify(record.target)}\n`);
    return record.target;
  }
}

function blank(mac: string): FleetTarget {
  return { mac, state: 'waiting', phase: null, fraction: 0, bytesCopied: 0, copyStartedMs: null, copyEndedMs: null, error: null, receipt: null };
}

async function writeAtomically(file: string, text: string): Promise<void> {
  await writeFile(`${file}.tmp`, text, { mode: 0o600, flag: 'w' });
  await rename(`${file}.tmp`, file);
}

// A target's own answer file counts once it is there at all: a broken one is refused, never passed over for the default.
async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => null)) !== null;
}

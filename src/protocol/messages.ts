// The socket protocol's messages, as they travel: requests, events and what
// they carry, shared by the daemon, the CLI and the tests (the Calamares module
// mirrors them in Python). docs/protocol.md describes them for people; keep the
// two in step. Their words are in vocabularies.ts, their bounds in limits.ts,
// what they say of a configuration in config-facts.ts.
import type { ChoiceKey, ChoiceSetting, CheckName, Phase, ThenAction } from './vocabularies.js';
import type { ConfigFacts } from './config-facts.js';
import type { FleetInfo, FleetServeRequest } from './fleet.js';

export const PROTOCOL_VERSION = 1;

export interface RequestBase {
  v: number;
  // Chosen by the client; echoed in the reply so it can match answers to questions.
  id: string;
}

export interface StatusRequest extends RequestBase {
  // Also receive every phase, progress, log and result event from now on.
  watch?: boolean;
}

// The partition facts Calamares' partition job leaves in globalstorage, as far
// as the install needs them (encrypted swap the hardware probe does not see).
export interface PartitionInfo {
  claimed?: boolean;
  device?: string;
  mountPoint?: string;
  fs?: string;
  fsName?: string;
  luksMapperName?: string;
  uuid?: string;
}

// What else was chosen in the installer: applied as defaults the configuration
// can override (installer-choices.nix), and checked (firmware and boot loader).
export type InstallChoices = Partial<Record<ChoiceKey, string>>;

export interface InstallRequest extends RequestBase {
  // The mounted target; or, for an unattended install, none (the daemon mounts the disk itself).
  root?: string;
  // An answer file (absolute path of install.json, or of the folder holding it):
  // the daemon partitions, formats and mounts the disk it names, then installs.
  answers?: string;
  user?: string;
  desktop?: string;
  partitions?: PartitionInfo[];
  choices?: InstallChoices;
  // For a flake configuration folder: which of its nixosConfigurations to
  // install (else the only one, else the one whose hostName is choices.hostname).
  flakeConfig?: string;
  // Cancel the install when this connection closes (Calamares quitting); the
  // CLI leaves it off so an install survives a lost terminal.
  cancelOnDisconnect?: boolean;
  // Install into a folder that is not a mount point (tests and demos with a
  // scratch folder). The Calamares module never sets it.
  allowUnmounted?: boolean;
  // A fleet target (README, "Fleet installs"): the seed's URL and the fleet's secret. The seed checks and builds
  // the system and its answer file names the disk; this machine registers, partitions, copies the system from the seed and installs.
  fleet?: { url: string; secret: string };
}

export type CancelRequest = RequestBase;

// Check the active configuration against these choices (all optional). With
// `choices` the check is made as an install's would be: on a prepared copy with
// this machine's hardware and the choices as defaults, and the result says which
// choices apply. The choices are not kept for later checks.
export interface ValidateRequest extends RequestBase {
  user?: string;
  desktop?: string;
  flakeConfig?: string;
  choices?: InstallChoices;
}

export interface RequestMap {
  status: StatusRequest;
  install: InstallRequest;
  cancel: CancelRequest;
  validate: ValidateRequest;
  'fleet-serve': FleetServeRequest;
}

// One choice made in the installer and what became of it.
export interface AppliedChoice {
  setting: ChoiceSetting;
  // The NixOS option it sets, e.g. "time.timeZone".
  option: string;
  chosen: string;
  // What the system will have: the choice, or the configuration's own value, which wins.
  result: string | null;
  applied: boolean;
}

// The disks GRUB's boot code goes to (BIOS GRUB only; "nodev" left out), the one chosen on
// the partition page (null when none was), whether the configuration overrides it, and that in words.
export interface GrubTarget {
  devices: string[];
  chosen: string | null;
  overridden: boolean;
  text: string;
}

export interface Download {
  name: string;
  drv: string;
  urls: string[];
}

export interface ValidationCheck {
  name: CheckName;
  ok: boolean;
  // Set when the check did not pass, or was skipped.
  error?: ErrorInfo;
  skipped?: string;
}

export interface ValidationResult {
  v: number;
  ok: boolean;
  source: string | null;
  user: string | null;
  desktop: string | null;
  checks: ValidationCheck[];
  facts: ConfigFacts | null;
  // Derivations the build will run locally, and what it would have to download.
  toBuild: string[];
  downloads: Download[];
  // The installer's choices and whether each applies (only when the check ran with them).
  choices?: AppliedChoice[];
  // With choices: one line for each, and for the user and desktop, for Calamares' choices page (titles.ts choicePageLines).
  choiceLines?: string[];
  // Unless ok: the refusal as an install would give it (its first problem's title, every description).
  error?: ErrorInfo;
  // Where GRUB goes (only when the check ran with the choices and the configuration installs GRUB on a disk).
  grub?: GrubTarget;
  // This machine against the ISO's hardware profiles (a validate reply, once the daemon probed it).
  hardware?: MachineHardware;
  // Configuration folders looked past (a stranger's /tmp/nix-cfg).
  passedOver?: PassedOverSource[];
  checkedAt: string;
  durationMs: number;
}

export interface ValidationStatus {
  state: 'idle' | 'running' | 'done';
  result: ValidationResult | null;
}

export type InstallState = 'idle' | 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface ErrorInfo {
  // Stable, for programs: e.g. "config-missing", "nixos-install-failed".
  code: string;
  // One line, for a dialog title.
  title: string;
  // What happened and what to do, for a person.
  description: string;
}

export interface RequestError extends ErrorInfo {
  // The request field that was wrong, when one was.
  field?: string;
}

export interface ConfigSourceStatus {
  dir: string;
  exists: boolean;
  hasConfiguration: boolean;
  // Why the folder is not used although it exists (a link, a folder others may change): installs stop.
  refused?: string;
  // Why the folder was looked past for the next one (empty, or a user's outside the socket group).
  passedOver?: string;
}

// A configuration folder looked past because a user outside the socket group made it.
export interface PassedOverSource {
  dir: string;
  reason: string;
}

export interface ProgressEvent {
  v: number;
  installId: string;
  phase: Phase;
  // Whole install, 0..1, never decreasing.
  fraction: number;
  // The copy phase's byte and path counts (0 before it starts).
  bytesDone: number;
  bytesTotal: number;
  pathsDone: number;
  pathsTotal: number;
  // The copy's time left, from its recent rate: absent before the first 10 % and once the copy is done.
  secondsLeft?: number;
  // What the phase is doing now, e.g. "building 2 of 5: linux-6.12"; absent when there is nothing to add.
  detail?: string;
}

export interface InstallStatus {
  state: InstallState;
  installId: string | null;
  root: string | null;
  // The configuration folder it installs from (null when none was usable).
  source: string | null;
  phase: Phase | null;
  progress: ProgressEvent | null;
  startedAt: string | null;
  finishedAt: string | null;
  result: ResultEvent | null;
}

export interface StatusInfo {
  daemon: { version: string; protocol: number; pid: number };
  // The folder installs use now, or null and why not (e.g. /tmp/nix-cfg has its configuration one level down).
  // watchLimited: set when the folders hold more entries than the daemon watches.
  source: { active: string | null; candidates: ConfigSourceStatus[]; problem: ErrorInfo | null; watchLimited?: string };
  install: InstallStatus;
  validation: ValidationStatus;
  // This machine against the hardware profiles the ISO covers; null until probed (or when the probe failed).
  hardware: MachineHardware | null;
}

// Which hardware profile of the ISO (manifest `hardwareProfiles`) this machine matches.
export interface MachineHardware {
  profiles: number;
  matches: string | null;
  closest: string | null;
  // Settings this machine's hardware configuration has that the closest profile lacks.
  missing: string[];
}

// What a cancel ended: the running install, a served fleet (root's cancel only), or both.
export interface CancelEnded {
  install: boolean;
  fleet: boolean;
}

export type ReplyEvent =
  // An install's reply names the folder it installs from (null: none is usable; its result says why).
  | { v: number; id: string; request: string; ok: true; status?: StatusInfo; installId?: string; source?: string | null; validation?: ValidationResult; fleet?: FleetInfo; ended?: CancelEnded }
  | { v: number; id: string; request: string; ok: false; error: RequestError };

export interface PhaseEvent {
  v: number;
  installId: string;
  phase: Phase;
  title: string;
}

export interface LogEvent {
  v: number;
  installId: string;
  // Which program or stage wrote the lines: "daemon", "nix-build", "nix copy", ...
  source: string;
  // In the order written; at least one.
  lines: string[];
  // Absent for ordinary output; a client without --verbose shows only these lines.
  level?: 'warn' | 'error';
}

export interface ResultEvent {
  v: number;
  installId: string;
  ok: boolean;
  state: 'succeeded' | 'failed' | 'cancelled';
  // field: the answer file's field at fault, when an unattended install's answers were refused.
  error?: ErrorInfo & { field?: string; logTail: string[] };
  // Where the full log is on the live system, and on the target when it got that far.
  logPath: string | null;
  targetLogPath: string | null;
  toplevel: string | null;
  // The installer's choices and whether each applied (once the checks ran).
  choices?: AppliedChoice[];
  // Where GRUB went (an install that put GRUB on a disk), the text in the past tense.
  grub?: GrubTarget;
  durationMs: number;
  // Unattended installs only: what the machine does next, after a success (the answer file's "then").
  then?: ThenInfo;
  // Configuration folders looked past (a stranger's /tmp/nix-cfg).
  passedOver?: PassedOverSource[];
}

export interface ThenInfo {
  action: ThenAction;
  // Seconds between the result and the reboot or power-off; a cancel meanwhile stops it.
  delaySeconds: number;
}

export interface EventMap {
  reply: ReplyEvent;
  phase: PhaseEvent;
  progress: ProgressEvent;
  log: LogEvent;
  result: ResultEvent;
  // A finished check of the active configuration, e.g. after /tmp/nix-cfg changed.
  validation: ValidationResult;
}

// The one definition of the socket protocol shared by the daemon, the CLI and
// the tests (the Calamares module mirrors it in Python). docs/protocol.md
// describes it for people; keep the two in step.

export const PROTOCOL_VERSION = 1;

// Requests are a few hundred bytes; the largest frame the daemon sends is a
// result with a bounded log tail. 64 KiB covers both with room to spare.
export const MAX_MESSAGE_BYTES = 64 * 1024;
// One log line on the wire; longer lines are cut (the install log keeps them whole).
export const MAX_LOG_LINE_CHARS = 2048;
// A log event carries the lines one source wrote in a row, up to about this
// many characters: even fully escaped, its frame stays under MAX_MESSAGE_BYTES.
export const LOG_BATCH_CHARS = 8 * 1024;
// Lines of the log that travel with a failed result.
export const LOG_TAIL_LINES = 20;
// A client that stops reading is dropped once this much waits for it.
export const MAX_PENDING_BYTES = 1024 * 1024;
// An incomplete frame older than this closes the connection.
export const MESSAGE_TIMEOUT_MS = 10_000;
// Connections at once on each socket (node-ipc's maxConnections: Node closes
// one over it as soon as it is accepted). Calamares, a CLI or two and status
// readers need a handful; more is a runaway client.
export const MAX_CONNECTIONS = 32;
// Of those on the socket group's, at most this many per user other than root
// (the daemon's peer limit): 8 of 32 leave room for three more users, or a
// user and root, even when one holds all of its own.
export const MAX_CONNECTIONS_PER_USER = 8;
// While an install runs, its last progress event is sent again at least this
// often, so a client can tell a quiet step (evaluating NixOS) from a dead daemon.
export const HEARTBEAT_MS = 5_000;

export const DEFAULT_SOCKET_PATH = '/run/nixos-offline-installer/ipc.sock';

// Root's own socket beside the group's (0600): connections of the socket
// group, however many, never shut root's CLI out.
export function rootSocketPath(socket: string): string {
  const slash = socket.lastIndexOf('/');
  return `${socket.slice(0, slash + 1)}root-${socket.slice(slash + 1)}`;
}

export const REQUEST_TYPES = ['status', 'install', 'cancel', 'validate'] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export const EVENT_TYPES = ['reply', 'phase', 'progress', 'log', 'result', 'validation'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

// The stages an install goes through, in order. An unattended install (one with
// an answer file) also partitions, formats and mounts the disk, once every check
// has passed; others skip those.
export const PHASES = ['hardware', 'validate', 'partition', 'format', 'mount', 'stage', 'build', 'copy', 'install', 'report'] as const;
export const DISK_PHASES: readonly Phase[] = ['partition', 'format', 'mount'];
export type Phase = (typeof PHASES)[number];
// The phases of an install into a mounted target (Calamares', the CLI's with --root).
export const ATTENDED_PHASES: readonly Phase[] = PHASES.filter((p) => !DISK_PHASES.includes(p));

export const PHASE_TITLES: Record<Phase, string> = {
  validate: 'Checking the configuration against your choices',
  partition: 'Partitioning the disk',
  format: 'Creating the file systems',
  mount: 'Mounting the new file systems',
  stage: 'Copying the configuration to the target',
  hardware: 'Generating the hardware configuration',
  build: 'Building the system from the local store',
  copy: 'Copying the system to the target',
  install: 'Installing the boot loader and activating',
  report: 'Writing the install log',
};

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

export const CHOICE_KEYS = [
  'hostname',
  'fullname',
  'firmwareType',
  'bootLoaderPath',
  'timezone',
  'locale',
  'keyboardLayout',
  'keyboardVariant',
  'keyboardVConsoleKeymap',
  // Calamares' localeConf: the LC_* categories set apart from the language.
  'LC_ADDRESS',
  'LC_IDENTIFICATION',
  'LC_MEASUREMENT',
  'LC_MONETARY',
  'LC_NAME',
  'LC_NUMERIC',
  'LC_PAPER',
  'LC_TELEPHONE',
  'LC_TIME',
] as const;
export type ChoiceKey = (typeof CHOICE_KEYS)[number];

// What else was chosen in the installer: applied as defaults the configuration
// can override (installer-choices.nix), and checked (firmware and boot loader).
export type InstallChoices = Partial<Record<ChoiceKey, string>>;

// A nixosConfigurations name the installer takes: usable unquoted in a flake attribute path.
export const FLAKE_CONFIG_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]{0,127}$/;

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
}

export interface ConfigFacts {
  // Where the facts come from: the ISO's manifest, or evaluating the folder.
  origin: 'manifest' | 'evaluation';
  users: string[];
  desktops: string[];
  drvPath: string | null;
  toplevel: string | null;
  // The system's closure size in bytes (the ISO manifest's closureBytes), when known before building.
  closureBytes: number | null;
  // From evaluation only (the manifest describes the configuration as shipped).
  mutableUsers?: boolean;
  usersWithoutPassword?: string[];
  bootLoader?: { systemdBoot: boolean; grub: boolean; grubEfi: boolean; grubDevices: string[] };
  // The final values of the settings the installer's choices set as defaults.
  settings?: Partial<Record<ChoiceSetting, string | null>>;
  // The settings the configuration sets itself (above mkDefault): choices of them cannot apply.
  fixedSettings?: ChoiceSetting[];
  // Set when the folder is a flake.
  flake?: FlakeFacts;
  // Set when the configuration describes its disks with disko (null: it does not).
  disko?: DiskoFacts | null;
}

// What a configuration that uses disko gives the installer (nix/config-facts.nix).
export interface DiskoFacts {
  // The prebuilt scripts: partition and format, then mount (disko's formatScript, mountScript).
  formatScript: string;
  mountScript: string;
  // Where mountScript mounts the new system (disko.rootMountPoint).
  rootMountPoint: string;
  // disko.devices.disk.<name>.device, as written into the scripts.
  disks: Record<string, string>;
  // The scripts' derivations, when the facts come from evaluating the folder (to build them).
  drvPaths?: string[];
}

export interface FlakeInput {
  // "nixpkgs", or "home-manager/nixpkgs" for an input's own input.
  name: string;
  // The locked reference, e.g. github:NixOS/nixpkgs/<rev>.
  reference: string;
  narHash: string | null;
  storePath: string | null;
}

export interface FlakeFacts {
  // The nixosConfigurations entry that is checked and installed.
  configuration: string;
  configurations: string[];
  inputs: FlakeInput[];
}

export const CHOICE_SETTINGS = ['hostName', 'timeZone', 'defaultLocale', 'consoleKeyMap', 'xkbLayout', 'xkbVariant'] as const;
export type ChoiceSetting = (typeof CHOICE_SETTINGS)[number];

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

export interface Download {
  name: string;
  drv: string;
  urls: string[];
}

export const CHECK_NAMES = ['source', 'flake', 'evaluates', 'user', 'desktop', 'bootloader', 'passwords', 'offline'] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

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

export type ReplyEvent =
  // An install's reply names the folder it installs from (null: none is usable; its result says why).
  | { v: number; id: string; request: string; ok: true; status?: StatusInfo; installId?: string; source?: string | null; validation?: ValidationResult }
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
  // Which program or step wrote the lines: "daemon", "nix-build", "nix copy", ...
  source: string;
  // In the order written; at least one.
  lines: string[];
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
  durationMs: number;
  // Unattended installs only: what the machine does next, after a success (the answer file's "then").
  then?: ThenInfo;
  // Configuration folders looked past (a stranger's /tmp/nix-cfg).
  passedOver?: PassedOverSource[];
}

export const THEN_ACTIONS = ['reboot', 'poweroff', 'stay'] as const;
export type ThenAction = (typeof THEN_ACTIONS)[number];

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

export function isRequestType(type: string): type is RequestType {
  return (REQUEST_TYPES as readonly string[]).includes(type);
}

export function isEventType(type: string): type is EventType {
  return (EVENT_TYPES as readonly string[]).includes(type);
}

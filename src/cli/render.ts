// How the CLI shows events to a person: the configuration folder first, phase
// lines, a progress bar redrawn in place on a terminal, and failures once,
// with what to do and where the full log is.
import type { AppliedChoice, ConfigSourceStatus, ErrorInfo, MachineHardware, LogEvent, PassedOverSource, PhaseEvent, ProgressEvent, ResultEvent, StatusInfo, ValidationResult } from '../protocol/messages.js';
import { choiceLine, profileLine } from '../protocol/titles.js';
import { counted } from '../common/counted.js';
import { PLAIN, type Style } from './terminal.js';

const BAR_WIDTH = 30;

function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${bytes} B`;
}

// The first line of every install, validate and status output: which folder is installed.
export function sourceLine(source: string | null, problem?: ErrorInfo | null): string {
  return `configuration: ${source ?? `none usable${problem ? ` (${problem.title})` : ''}`}`;
}

// The user and desktop a check was made with.
export function choicesText(result: Pick<ValidationResult, 'user' | 'desktop'>): string {
  const parts = [...(result.user !== null ? [`user ${result.user}`] : []), ...(result.desktop !== null ? [result.desktop === '' ? 'no desktop' : `desktop ${result.desktop}`] : [])];
  return parts.length > 0 ? `choices: ${parts.join(', ')}` : 'choices: none (configuration checks only)';
}

// "about 40 s left", "about 3 min left": the copy's and check-medium's estimates.
export function timeLeftText(seconds: number): string {
  return `about ${seconds < 90 ? `${seconds} s` : `${Math.round(seconds / 60)} min`} left`;
}

export function progressBar(event: ProgressEvent): string {
  const filled = Math.round(event.fraction * BAR_WIDTH);
  const percent = `${Math.floor(event.fraction * 100)}%`.padStart(4);
  const left = event.secondsLeft !== undefined ? `, ${timeLeftText(event.secondsLeft)}` : '';
  const bytes = event.bytesTotal > 0 ? `  ${size(event.bytesDone)} / ${size(event.bytesTotal)}, ${event.pathsDone}/${event.pathsTotal} paths${left}` : '';
  const detail = event.detail && event.bytesTotal === 0 ? `  ${event.detail}` : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent}${bytes}${detail}`;
}

export function phaseLine(event: PhaseEvent, style: Style = PLAIN): string {
  return style.bold(`==> ${event.title}`);
}

export function logLines(event: LogEvent): string {
  // A line may carry a message of several lines (the daemon's error); each is indented under its source.
  return event.lines.map((line) => `    [${event.source}] ${line.replaceAll('\n', '\n      ')}`).join('\n');
}

// The installer's choices and what became of each: nothing is silently ignored.
function choiceLines(choices: AppliedChoice[] | undefined): string[] {
  if (!choices || choices.length === 0) return [];
  return ['  choices:', ...choices.map((c) => `    ${choiceLine(c)}`)];
}

// Configuration folders looked past: a stranger's /tmp/nix-cfg is never read, but the person should know it is there.
function passedOverLines(passedOver: readonly PassedOverSource[] | undefined): string[] {
  return (passedOver ?? []).map((p) => `  passed over ${p.dir}: it ${p.reason}`);
}

// COMMAND_MS: how long the client ran, said too where it differs from the daemon's figure (it waited, or printed long after).
export function resultText(event: ResultEvent, style: Style = PLAIN, commandMs?: number): string {
  if (event.ok) {
    const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    const command = commandMs !== undefined && commandMs - event.durationMs >= 1000 ? `; this command ran ${seconds(commandMs)}` : '';
    const lines = [style.green(`Installation finished in ${seconds(event.durationMs)} (the daemon's install, from the request to the log written${command}).`), `  system: ${event.toplevel}`, ...resultLogLines(event), ...(event.grub ? [`  ${event.grub.text}`] : []), ...choiceLines(event.choices), ...passedOverLines(event.passedOver)];
    if (event.then) lines.push('', thenText(event.then));
    return lines.join('\n');
  }
  // The error once: its description already quotes the output that matters; the rest is in the log.
  const error = event.error!;
  const lines = [style.red(style.bold(`${event.state === 'cancelled' ? 'Cancelled' : 'Install failed'}: ${error.title}`)), '', error.description];
  if (error.field) lines.push('', `(answer file field: ${error.field})`);
  if (event.passedOver?.length) lines.push('', ...passedOverLines(event.passedOver));
  if (event.logPath) lines.push('', `Full log: ${event.logPath}${event.targetLogPath ? ` (also ${event.targetLogPath})` : ''}`);
  return lines.join('\n');
}

// An unattended install's next step, in words the console shows.
export function thenText(then: NonNullable<ResultEvent['then']>): string {
  if (then.action === 'stay') return 'The machine stays on. You can remove the installer medium and reboot into the new system.';
  const verb = then.action === 'reboot' ? 'Rebooting' : 'Powering off';
  return `${verb} in ${then.delaySeconds} seconds (nixos-offline-installer cancel to stay).`;
}

export function statusText(status: StatusInfo, style: Style = PLAIN): string {
  const { source, install } = status;
  const lines = [sourceLine(source.active, source.problem)];
  for (const c of source.candidates) lines.push(`  ${c.dir === source.active ? '*' : ' '} ${c.dir}  ${candidateText(c)}`);
  if (source.watchLimited) lines.push(`  (${source.watchLimited})`);
  if (source.problem) lines.push(...source.problem.description.split('\n').map((l) => `  ${style.red(l)}`));
  lines.push(`daemon ${status.daemon.version} (protocol ${status.daemon.protocol}, pid ${status.daemon.pid})`);
  lines.push(`install: ${install.state}${install.installId ? ` (${install.installId} from ${install.source ?? 'no usable configuration'} into ${install.root})` : ''}`);
  if (install.state === 'running' && install.progress) lines.push(`  ${install.phase}: ${progressBar(install.progress)}`);
  if (install.result && !install.result.ok) lines.push(`  ${install.result.error?.title}`, ...reasonLines(install.result.error?.description, `the whole reason: ${install.result.logPath ?? 'the install log'}`));
  const { validation } = status;
  if (validation.state === 'running') lines.push('check: running');
  else if (validation.result) {
    lines.push(`check: ${validationSummary(validation.result, style)}`);
    for (const check of validation.result.checks.filter((c) => !c.ok && c.error)) {
      lines.push(`  ${check.name}: ${check.error!.title}`, ...reasonLines(check.error!.description, 'validate shows the whole reason'));
    }
  }
  if (status.hardware) lines.push(hardwareLine(status.hardware));
  return lines.join('\n');
}

// One configuration folder in status: an empty one is simply not used yet; a stranger's is passed over.
function candidateText(c: ConfigSourceStatus): string {
  if (c.refused) return `not used: it ${c.refused}`;
  if (c.passedOver === 'is empty') return 'empty, so not used';
  if (c.passedOver) return `passed over: it ${c.passedOver}`;
  if (c.hasConfiguration) return 'configuration';
  return c.exists ? 'no configuration.nix or flake.nix at its top' : 'missing';
}

// Where the install log is. An unattended install ("then" is set) has unmounted its
// target, whose path is then one on the installed disk: the live copy is the one to read now.
function resultLogLines(event: ResultEvent): string[] {
  if (event.then && event.logPath && event.targetLogPath) return [`  log:    ${event.logPath}`, `          (on the installed disk: ${event.targetLogPath})`];
  return [`  log:    ${event.targetLogPath ?? event.logPath}`];
}

// The first lines of a failure's reason, for status (validate and install print it whole),
// and the line naming the file and line of the error wherever it is in the reason.
const REASON_LINES = 4;
export function reasonLines(description: string | undefined, whole: string): string[] {
  const all = (description ?? '').split('\n').filter((l) => l.trim() !== '');
  const shown = all.slice(0, REASON_LINES);
  const place = all.find((l) => /^That is .*, line \d+/.test(l));
  if (place && !shown.includes(place)) shown.push(place);
  if (all.length > shown.length) shown.push(`(${whole})`);
  return shown.map((l) => `    ${l}`);
}

// Whether the ISO was built for this machine's hardware (nix/hardware-profiles.nix).
export function hardwareLine(hardware: MachineHardware): string {
  return `hardware: ${profileLine(hardware, hardware.profiles)}`;
}

export function validationSummary(result: ValidationResult, style: Style = PLAIN): string {
  const failed = result.checks.filter((c) => !c.ok).map((c) => c.error?.title ?? c.name);
  const verdict = result.ok ? style.green('ok') : style.red(`FAILED: ${failed.join('; ')}`);
  return `${verdict} (${result.source ?? 'no usable configuration'}; ${choicesText(result)}; checked ${result.checkedAt})`;
}

export function validationText(result: ValidationResult, style: Style = PLAIN): string {
  const lines = [sourceLine(result.source, result.checks.find((c) => c.name === 'source')?.error), ...passedOverLines(result.passedOver)];
  lines.push(`  checked with ${choicesText(result).replace('choices: ', '')}${result.facts ? `; facts from ${result.facts.origin === 'manifest' ? 'the ISO manifest' : 'evaluating it'}` : ''}`);
  for (const check of result.checks) {
    const mark = check.ok ? (check.skipped ? '-' : style.green('✓')) : style.red('✗');
    lines.push(`  ${mark} ${check.name}${check.skipped ? ` (skipped: ${check.skipped})` : ''}${check.error ? `: ${check.error.title}` : ''}`);
    if (check.error) lines.push(...check.error.description.split('\n').map((l) => `      ${l}`));
  }
  if (result.facts) lines.push(`  users: ${result.facts.users.join(', ') || 'none'}; desktops: ${result.facts.desktops.join(', ') || 'none'}`);
  lines.push(...choiceLines(result.choices));
  if (result.grub) lines.push(`  ${result.grub.text}`);
  if (result.hardware) lines.push(`  ${hardwareLine(result.hardware)}`);
  if (result.checks.some((c) => c.name === 'offline' && c.ok && !c.skipped)) lines.push(`  ${counted(result.toBuild.length, 'derivation')} will be built locally, nothing downloaded`);
  lines.push(result.ok ? style.green('All checks passed.') : style.red('Fix the problems above before installing.'));
  return lines.join('\n');
}

// How the CLI shows events to a person: phase lines, a progress bar redrawn in
// place on a terminal, and failures with what to do.
import type { AppliedChoice, LogEvent, PhaseEvent, ProgressEvent, ResultEvent, StatusInfo, ValidationResult } from '../protocol/messages.js';
import { choiceLine } from '../prepare/installer-choices.js';

const BAR_WIDTH = 30;

function size(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${bytes} B`;
}

export function progressBar(event: ProgressEvent): string {
  const filled = Math.round(event.fraction * BAR_WIDTH);
  const percent = `${Math.floor(event.fraction * 100)}%`.padStart(4);
  const bytes = event.bytesTotal > 0 ? `  ${size(event.bytesDone)} / ${size(event.bytesTotal)}, ${event.pathsDone}/${event.pathsTotal} paths` : '';
  const detail = event.detail && event.bytesTotal === 0 ? `  ${event.detail}` : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${percent}${bytes}${detail}`;
}

export function phaseLine(event: PhaseEvent): string {
  return `==> ${event.title}`;
}

export function logLines(event: LogEvent): string {
  return event.lines.map((line) => `    [${event.source}] ${line}`).join('\n');
}

// The installer's choices and what became of each: nothing is silently ignored.
function choiceLines(choices: AppliedChoice[] | undefined): string[] {
  if (!choices || choices.length === 0) return [];
  return ['  choices:', ...choices.map((c) => `    ${choiceLine(c)}`)];
}

export function resultText(event: ResultEvent): string {
  if (event.ok) {
    const lines = [`Installation finished in ${(event.durationMs / 1000).toFixed(1)} s.`, `  system: ${event.toplevel}`, `  log:    ${event.targetLogPath ?? event.logPath}`, ...choiceLines(event.choices)];
    if (event.then) lines.push('', thenText(event.then));
    return lines.join('\n');
  }
  const error = event.error!;
  const lines = [`${event.state === 'cancelled' ? 'Cancelled' : 'Install failed'}: ${error.title}`, '', error.description];
  if (error.field) lines.push('', `(answer file field: ${error.field})`);
  if (event.state === 'failed' && error.logTail.length > 0) lines.push('', 'Last log lines:', ...error.logTail.map((l) => `  ${l}`));
  lines.push('', `Full log: ${event.logPath}${event.targetLogPath ? ` (also ${event.targetLogPath})` : ''}`);
  return lines.join('\n');
}

// An unattended install's next step, in words the console shows.
export function thenText(then: NonNullable<ResultEvent['then']>): string {
  if (then.action === 'stay') return 'The machine stays on. You can remove the installer medium and reboot into the new system.';
  const verb = then.action === 'reboot' ? 'Rebooting' : 'Powering off';
  return `${verb} in ${then.delaySeconds} seconds (nixos-offline-installer cancel to stay).`;
}

export function statusText(status: StatusInfo): string {
  const { source, install } = status;
  const lines = [`daemon ${status.daemon.version} (protocol ${status.daemon.protocol}, pid ${status.daemon.pid})`, `configuration: ${source.active ?? 'none found'}`];
  for (const c of source.candidates) lines.push(`  ${c.dir === source.active ? '*' : ' '} ${c.dir}  ${c.hasConfiguration ? 'configuration.nix' : c.exists ? 'no configuration.nix' : 'missing'}`);
  lines.push(`install: ${install.state}${install.installId ? ` (${install.installId} into ${install.root})` : ''}`);
  if (install.state === 'running' && install.progress) lines.push(`  ${install.phase}: ${progressBar(install.progress)}`);
  if (install.result && !install.result.ok) lines.push(`  ${install.result.error?.title}`);
  const { validation } = status;
  if (validation.state === 'running') lines.push('check: running');
  else if (validation.result) lines.push(`check: ${validationSummary(validation.result)}`);
  return lines.join('\n');
}

export function validationSummary(result: ValidationResult): string {
  const failed = result.checks.filter((c) => !c.ok).map((c) => c.error?.title ?? c.name);
  return `${result.ok ? 'ok' : `FAILED: ${failed.join('; ')}`} (${result.source ?? 'no configuration'}, ${result.checkedAt})`;
}

export function validationText(result: ValidationResult): string {
  const lines = [`Configuration ${result.source ?? '(none found)'}${result.facts ? ` (facts from ${result.facts.origin === 'manifest' ? 'the ISO manifest' : 'evaluating it'})` : ''}:`];
  for (const check of result.checks) {
    const mark = check.ok ? (check.skipped ? '-' : '✓') : '✗';
    lines.push(`  ${mark} ${check.name}${check.skipped ? ` (skipped: ${check.skipped})` : ''}${check.error ? `: ${check.error.title}` : ''}`);
    if (check.error) lines.push(...check.error.description.split('\n').map((l) => `      ${l}`));
  }
  if (result.facts) lines.push(`  users: ${result.facts.users.join(', ') || 'none'}; desktops: ${result.facts.desktops.join(', ') || 'none'}`);
  lines.push(...choiceLines(result.choices));
  if (result.checks.some((c) => c.name === 'offline' && c.ok && !c.skipped)) lines.push(`  ${result.toBuild.length} derivations will be built locally, nothing downloaded`);
  lines.push(result.ok ? 'All checks passed.' : 'Fix the problems above before installing.');
  return lines.join('\n');
}

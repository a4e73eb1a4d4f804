// Every check of a configuration against the installer's choices, before
// anything touches the target: it evaluates, the Calamares user is declared,
// the chosen desktop is the configured one, and nothing has to be downloaded.
// Each failed check says what was found, what was expected and what to do.
import type { CommandContext, JobSettings } from '../common/context.js';
import { InstallError } from '../common/install-error.js';
import { PROTOCOL_VERSION, type Download, type ErrorInfo, type ValidationCheck, type ValidationResult } from '../protocol/messages.js';
import type { ConfigFacts } from '../protocol/config-facts.js';
import { choicePageLines } from '../protocol/titles.js';
import type { CheckName } from '../protocol/vocabularies.js';
import { configFacts } from './config-facts.js';
import { DESKTOP_OPTIONS, isKnownDesktop, isNoDesktop } from './desktops.js';
import { checkCompleteness } from './offline-completeness.js';
import { checkBootLoader, checkPassword } from './boot-loader.js';
import type { Firmware } from '../prepare/firmware.js';
import { counted } from '../common/counted.js';
import { hardwareCause } from './hardware-downloads.js';
import { appliedChoices, grubTarget } from '../prepare/installer-choices.js';
import type { PreparedConfig } from '../prepare/prepare-config.js';
import { scanSource } from '../snapshot/scan-source.js';
import { isFlakeFolder } from '../nix/flake-commands.js';
import { flakeFacts, prepareFlake, type PreparedFlake } from './flake-facts.js';
import { WrittenCopy } from '../prepare/private-copy.js';

// Facts and the offline check of a folder, by its fingerprint (every entry's
// inode, size and times): an install right after the live check, of an
// unchanged folder, need not evaluate it again. Only passing checks are kept,
// so a refusal is always checked afresh (e.g. after adding the missing path).
export class ValidationCache {
  private readonly entries = new Map<string, { facts: ConfigFacts; toBuild: string[] }>();

  constructor(private readonly limit = 8) {}

  get(key: string) {
    return this.entries.get(key);
  }

  set(key: string, value: { facts: ConfigFacts; toBuild: string[] }): void {
    this.entries.delete(key);
    this.entries.set(key, value);
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value!);
  }
}

export interface ValidationInput {
  source: string | null;
  // Why there is no source, when there is none (e.g. its configuration.nix is one folder down).
  sourceProblem?: ErrorInfo;
  user?: string;
  desktop?: string;
  // The machine's firmware, for the boot loader check (installs only).
  firmware?: Firmware;
  // The prepared folder (generated hardware configuration and choices) to check instead of the source as is.
  prepared?: PreparedConfig;
  // For a flake: the configuration asked for, and the hostname chosen in the installer.
  flakeConfig?: string;
  hostname?: string;
}

const MAX_LISTED = 20;

function list(items: readonly string[]): string {
  const shown = items.slice(0, MAX_LISTED).map((i) => `  ${i}`);
  if (items.length > MAX_LISTED) shown.push(`  … and ${items.length - MAX_LISTED} more`);
  return shown.join('\n');
}

export function checkUser(user: string, facts: ConfigFacts, source: string): ErrorInfo | null {
  if (user === 'root') {
    return {
      code: 'user-not-declared',
      title: 'root cannot be the installer\'s user',
      description: `The installer's user is the person's own login, a normal user; root always exists and is no normal user (users.users.root.isNormalUser cannot be set). Choose another name${facts.users.length > 0 ? `, e.g. one the configuration in ${source} declares: ${facts.users.join(', ')}` : ''}.`,
    };
  }
  if (facts.users.includes(user)) return null;
  const declared = facts.users.length > 0 ? `It declares these normal users: ${facts.users.join(', ')}.` : 'It declares no normal user at all.';
  return {
    code: 'user-not-declared',
    title: `User "${user}" is not in the configuration`,
    description:
      `The user created in the installer, "${user}", is not declared as a normal user in ${source}. ${declared}\n` +
      `Either go back and create one of the declared users, or add to configuration.nix:\n  users.users.${user}.isNormalUser = true;\n` +
      '(Otherwise setting its password would fail at the very end of the install.)',
  };
}

export function checkDesktop(desktop: string, facts: ConfigFacts, source: string): ErrorInfo | null {
  const configured = facts.desktops.length > 0 ? facts.desktops.join(', ') : 'none';
  if (!isKnownDesktop(desktop)) {
    return {
      code: 'desktop-unknown',
      title: `Unknown desktop "${desktop}"`,
      description: `The installer chose the desktop id "${desktop}", which this installer does not know. Known ids: ${Object.keys(DESKTOP_OPTIONS).join(', ')}, or "" for no desktop. The configuration in ${source} enables: ${configured}.`,
    };
  }
  if (isNoDesktop(desktop) ? facts.desktops.length === 0 : facts.desktops.includes(desktop)) return null;
  const wanted = isNoDesktop(desktop) ? 'no desktop' : `the ${desktop} desktop (${DESKTOP_OPTIONS[desktop]!.join(' or ')})`;
  return {
    code: 'desktop-mismatch',
    title: `The configuration does not install the chosen desktop`,
    description:
      `The installer chose ${wanted}, but the configuration in ${source} enables: ${configured}. ` +
      `Offline, only the configured desktop's packages are on the ISO. Go back and choose ${facts.desktops[0] ?? 'no desktop'}, or change the configuration.`,
  };
}

export function checkDownloads(downloads: readonly Download[], source: string, generatedHardware: string | null = null): ErrorInfo | null {
  if (downloads.length === 0) return null;
  const causes = downloads.map((d) => hardwareCause(d.name, generatedHardware));
  const named = downloads.map((d, i) => `${d.name}${d.urls.length > 0 ? ` (${d.urls[0]})` : ''}${causes[i] ? `, needed by ${causes[i]} in this machine's generated hardware-configuration.nix` : ''}`);
  const byHardware = causes.some((c) => c !== null);
  return {
    code: 'needs-download',
    title: `The configuration needs ${downloads.length} download${downloads.length === 1 ? '' : 's'} that ${downloads.length === 1 ? 'is' : 'are'} not on the ISO`,
    description:
      `Building the system from ${source} would have to download:\n${list(named)}\n` +
      'This installer works offline, so the install would fail; nothing was written to the target. ' +
      (byHardware
        ? "This machine's hardware asks for more than the ISO was built for. Cover it: on this machine run\n  nixos-generate-config --show-hardware-config > hardware-profiles/<machine>.nix\nput that file in nix-cfg/hardware-profiles/ and rebuild the ISO (README: \"Covering your machines\"); or set the option to false in the configuration."
        : 'Rebuild the ISO from this configuration (so its store holds these), or remove what needs them from the configuration.'),
  };
}

const withGrub = (grub: ValidationResult['grub']) => (grub ? { grub } : {});

function failed(name: CheckName, error: ErrorInfo): ValidationCheck {
  return { name, ok: false, error: { code: error.code, title: error.title, description: error.description } };
}

export async function validateConfig(ctx: CommandContext, input: ValidationInput, settings: JobSettings, cache?: ValidationCache): Promise<ValidationResult> {
  // The folder as written, where a check evaluates it (a private copy with an eval user: its files may be its owner's only).
  const written = input.source === null ? null : new WrittenCopy(ctx, input.source);
  try {
    return await checkConfig(ctx, input, settings, written, cache);
  } finally {
    await written?.remove();
  }
}

async function checkConfig(ctx: CommandContext, input: ValidationInput, settings: JobSettings, written: WrittenCopy | null, cache?: ValidationCache): Promise<ValidationResult> {
  const started = Date.now();
  const checks: ValidationCheck[] = [];
  let facts: ConfigFacts | null = null;
  let toBuild: string[] = [];
  let downloads: Download[] = [];
  const { source } = input;
  const finish = (): ValidationResult => {
    const choices = input.prepared && facts ? appliedChoices(input.prepared.choices, facts) ?? [] : undefined;
    const result: ValidationResult = {
      v: PROTOCOL_VERSION,
      ok: checks.every((c) => c.ok),
      source,
      user: input.user ?? null,
      desktop: input.desktop ?? null,
      checks,
      facts,
      toBuild,
      downloads,
      ...(choices && { choices }),
      ...(input.prepared && facts && withGrub(grubTarget(input.prepared.choices, facts))),
      checkedAt: new Date().toISOString(),
      durationMs: Date.now() - started,
    };
    // What a client shows (Calamares' check step) comes from here, so no client words it again.
    if (input.prepared) result.choiceLines = choicePageLines(result);
    if (!result.ok) result.error = refusal(result);
    return result;
  };

  if (source === null) {
    checks.push(failed('source', input.sourceProblem ?? { code: 'config-missing', title: 'No NixOS configuration found', description: `None of ${settings.configDirs.join(', ')} holds a configuration.nix or a flake.nix.` }));
    return finish();
  }
  let key: string;
  try {
    // Also refuses, by name, links out of the folder and special files, as staging would (the prepared copy's scan did).
    key = `${source}\n${input.prepared?.sourceFingerprint ?? (await scanSource(source)).fingerprint}${input.prepared && !input.prepared.asShipped ? `\n${input.prepared.generatedHash}` : ''}`;
  } catch (error) {
    if (!(error instanceof InstallError)) throw error;
    checks.push(failed('source', error));
    return finish();
  }
  checks.push({ name: 'source', ok: true });
  const isFlake = isFlakeFolder(source);
  // A flake's facts depend on which configuration is chosen, too.
  if (isFlake) key += `\nflake=${input.flakeConfig ?? ''}\nhostname=${input.hostname ?? ''}`;
  const cached = cache?.get(key);
  let flake: PreparedFlake | null = null;
  if (isFlake) {
    try {
      // Inputs are checked every time (a store lookup); the configuration's choice is kept with the facts.
      const choice = { ...(input.flakeConfig !== undefined && { requested: input.flakeConfig }), ...(input.hostname !== undefined && { hostname: input.hostname }) };
      flake = await prepareFlake(ctx, source, settings, choice, input.prepared ?? { folder: await written!.folder(), asShipped: true }, cached?.facts.flake, () => written!.folder());
      checks.push({ name: 'flake', ok: true });
      ctx.log('validate', `flake configuration ${flake.flake.configuration}; ${flake.flake.inputs.length} locked inputs, all in the store`);
    } catch (error) {
      if (!(error instanceof InstallError)) throw error;
      checks.push(failed('flake', error));
      return finish();
    }
  } else checks.push({ name: 'flake', ok: true, skipped: 'not a flake' });
  try {
    facts = cached?.facts ?? (flake ? await flakeFacts(ctx, flake) : await configFacts(ctx, source, settings, input.prepared, () => written!.folder()));
    checks.push({ name: 'evaluates', ok: true });
  } catch (error) {
    if (!(error instanceof InstallError)) throw error;
    checks.push(failed('evaluates', error));
    return finish();
  }

  const userError = input.user === undefined ? null : checkUser(input.user, facts, source);
  checks.push(input.user === undefined ? { name: 'user', ok: true, skipped: 'no user chosen' } : userError ? failed('user', userError) : { name: 'user', ok: true });
  const desktopError = input.desktop === undefined ? null : checkDesktop(input.desktop, facts, source);
  checks.push(input.desktop === undefined ? { name: 'desktop', ok: true, skipped: 'no desktop chosen' } : desktopError ? failed('desktop', desktopError) : { name: 'desktop', ok: true });
  const noFacts = facts.bootLoader === undefined ? 'the ISO manifest does not describe it' : null;
  const loaderError = input.firmware === undefined || noFacts ? null : checkBootLoader(input.firmware, facts, source);
  checks.push(input.firmware === undefined || noFacts ? { name: 'bootloader', ok: true, skipped: noFacts ?? 'no target machine' } : loaderError ? failed('bootloader', loaderError) : { name: 'bootloader', ok: true });
  const passwordError = input.user === undefined ? null : checkPassword(input.user, facts, source);
  checks.push(input.user === undefined ? { name: 'passwords', ok: true, skipped: 'no user chosen' } : passwordError ? failed('passwords', passwordError) : { name: 'passwords', ok: true });

  if (cached) {
    toBuild = cached.toBuild;
    checks.push({ name: 'offline', ok: true });
    ctx.log('validate', 'configuration unchanged since it was last checked; reusing that check');
    return finish();
  }
  if (facts.drvPath === null) {
    // The manifest's system is in the ISO's store by construction.
    checks.push({ name: 'offline', ok: true, skipped: 'the ISO manifest names the prebuilt system' });
    return finish();
  }
  try {
    ({ toBuild, downloads } = await checkCompleteness(ctx, facts.drvPath));
    const downloadError = checkDownloads(downloads, source, input.prepared?.generated ?? null);
    checks.push(downloadError ? failed('offline', downloadError) : { name: 'offline', ok: true });
    if (!downloadError) cache?.set(key, { facts, toBuild });
    ctx.log('validate', `offline check: ${counted(toBuild.length, 'derivation')} to build locally, ${counted(downloads.length, 'download')} needed`);
  } catch (error) {
    if (!(error instanceof InstallError)) throw error;
    checks.push(failed('offline', error));
  }
  return finish();
}

// One error for a failed validation: the first problem's code and title, every problem's description.
// A refused check as one error: the first problem's title, every description.
function refusal(result: ValidationResult): ErrorInfo {
  const problems = result.checks.filter((c) => !c.ok && c.error).map((c) => c.error!);
  const first = problems[0]!;
  const description = problems.length === 1 ? first.description : problems.map((p) => `${p.title}:\n${p.description}`).join('\n\n');
  return { code: first.code, title: problems.length === 1 ? first.title : `${first.title} (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})`, description };
}

export function validationError(result: ValidationResult): InstallError {
  const { code, title, description } = result.error ?? refusal(result);
  return new InstallError(code, title, description);
}

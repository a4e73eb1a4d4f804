// The command line: commands, their options and help (commander). Strict: an
// unknown option, an extra argument, an option given twice or a value too
// large for the protocol is a usage error before anything is sent. The
// commands themselves are loaded on use (start-up time).
import { resolve } from 'node:path';
import { Command } from 'commander';
import { seedUrl, type FleetServeRequest } from '../protocol/fleet.js';
import { INSTALLER_DEFAULTS } from '../protocol/installer-defaults.js';
import { DEFAULT_SOCKET_PATH } from '../protocol/socket-path.js';
import { VERSION } from '../version.js';
import { styleFor } from './terminal.js';
import { EXIT_STATUS_TEXT, usageErrorJson } from './usage.js';

const NAME = 'nixos-offline-installer';

// The largest value each option takes: a path fits PATH_MAX, anything else is a name.
// Each is far below the protocol's 64 KiB frame, so a request always fits.
const MAX_PATH_BYTES = 4095;
const MAX_PATH_LIST_BYTES = 16 * 1024;
const MAX_NAME_BYTES = 256;

export interface ClientFlags {
  socket: string;
  json: boolean;
}

export interface InstallFlags extends ClientFlags {
  // One of the two: a mounted target, or an answer file (unattended: the daemon partitions and mounts the disk it names).
  root?: string;
  answers?: string;
  user?: string;
  desktop?: string;
  flakeConfig?: string;
  // Tests and demos only: a root that is not a mount point (root's socket only).
  allowUnmounted?: boolean;
  // Every line the install's commands print, not only warnings and errors.
  verbose?: boolean;
  // A fleet target: the seed's URL, and a file with the fleet's secret (default: the kernel command line's).
  fleet?: string;
  secretFile?: string;
}

export interface ValidateFlags extends ClientFlags {
  user?: string;
  desktop?: string;
  flakeConfig?: string;
}

const VERBOSE_HELP = "print every line the install's commands print (the install log has them all; without it: warnings and errors)";
const FLAKE_CONFIG_HELP = 'which nixosConfigurations entry of a flake folder to install (needed when it has several)';

export interface CalamaresSettingsFlags extends ClientFlags {
  settings: string;
  out: string;
}

// The request's own fields, as the command line gives them.
export interface FleetServeFlags extends ClientFlags, Omit<FleetServeRequest, 'v' | 'id'> {}

export interface FleetStatusFlags extends ClientFlags {
  // The seed's URL (fleet serve prints it); without it, the fleet this machine serves.
  fleet?: string;
  // A file holding the fleet's secret; without it, the seed's own (root only, on the seed).
  secretFile?: string;
  // The seed's fleet state folder when its daemon was started with --fleet-dir.
  fleetDir?: string;
}

// What each command does once its command line is checked; each resolves with the exit code.
export interface Runners {
  daemon(flags: Record<string, string | undefined>): Promise<number>;
  status(flags: ClientFlags & { watch: boolean; verbose: boolean }): Promise<number>;
  validate(flags: ValidateFlags): Promise<number>;
  install(flags: InstallFlags): Promise<number>;
  cancel(flags: ClientFlags): Promise<number>;
  calamaresSettings(flags: CalamaresSettingsFlags): Promise<number>;
  checkMedium(flags: { json: boolean; paths: string[] }): Promise<number>;
  fleetServe(flags: FleetServeFlags): Promise<number>;
  fleetStatus(flags: FleetStatusFlags): Promise<number>;
}

const DEFAULTS = INSTALLER_DEFAULTS.daemon;

const DAEMON_OPTIONS: { flag: string; value: string; env: string; text: string; max: number }[] = [
  { flag: 'socket', value: 'path', env: 'NOI_SOCKET', text: `socket path (default ${DEFAULT_SOCKET_PATH})`, max: MAX_PATH_BYTES },
  { flag: 'socket-group', value: 'group', env: 'NOI_SOCKET_GROUP', text: 'group allowed to use the socket (mode 0660)', max: MAX_NAME_BYTES },
  { flag: 'config-dirs', value: 'dirs', env: 'NOI_CONFIG_DIRS', text: `configuration folders, ":"-separated; the first that exists and is not empty is used (default ${DEFAULTS.configDirs.join(':')})`, max: MAX_PATH_LIST_BYTES },
  { flag: 'nixos-expr', value: 'file', env: 'NOI_NIXOS_EXPR', text: `NixOS expression to build (default ${DEFAULTS.nixosExpr})`, max: MAX_PATH_BYTES },
  { flag: 'nixpkgs', value: 'path', env: 'NOI_NIXPKGS', text: "the ISO's nixpkgs, passed as -I nixpkgs=PATH", max: MAX_PATH_BYTES },
  { flag: 'manifest', value: 'file', env: 'NOI_MANIFEST', text: "facts about the ISO's own configuration (made at ISO build)", max: MAX_PATH_BYTES },
  { flag: 'log-dir', value: 'dir', env: 'NOI_LOG_DIR', text: `install logs on the live system (default ${DEFAULTS.logDir})`, max: MAX_PATH_BYTES },
  { flag: 'log-level', value: 'level', env: 'NOI_LOG_LEVEL', text: `${DEFAULTS.logLevels.join('|')} (default ${DEFAULTS.logLevel})`, max: MAX_NAME_BYTES },
  { flag: 'channel-profile', value: 'path', env: 'NOI_CHANNEL_PROFILE', text: 'live channel profile copied to the target when present', max: MAX_PATH_BYTES },
  { flag: 'eval-user', value: 'name', env: 'NOI_EVAL_USER', text: 'unprivileged user that evaluates configurations through nix-daemon (default: none, root evaluates with restrict-eval)', max: MAX_NAME_BYTES },
  { flag: 'eval-home', value: 'dir', env: 'NOI_EVAL_HOME', text: `the eval user's private HOME for Nix's caches (default ${DEFAULTS.evalHome})`, max: MAX_PATH_BYTES },
];

// Refuses an option given twice and a value over its limit, naming the option (never echoing a huge value).
function strict(command: Command, limits: Record<string, number>): Command {
  const seen = new Map<string, string | undefined>();
  for (const option of command.options) {
    const name = option.name();
    command.on(`option:${name}`, (value?: string) => {
      const flag = option.long ?? `--${name}`;
      const max = limits[name] ?? MAX_NAME_BYTES;
      const bytes = typeof value === 'string' ? Buffer.byteLength(value) : 0;
      if (bytes > max) {
        command.error(`error: ${flag} is ${bytes} bytes long; it takes at most ${max} bytes`, { exitCode: 2, code: 'noi.valueTooLong' });
      }
      if (seen.has(name)) {
        const values = typeof value === 'string' ? ` (${JSON.stringify(seen.get(name))}, then ${JSON.stringify(value)})` : '';
        command.error(`error: ${flag} was given more than once${values}; give it once`, { exitCode: 2, code: 'noi.repeatedOption' });
      }
      seen.set(name, value);
    });
  }
  return command;
}

function socketOf(value: string | undefined): string {
  return value ?? process.env.NOI_SOCKET ?? DEFAULT_SOCKET_PATH;
}

// --fleet's URL in its one form, or a usage error naming what was given.
function seedUrlOf(command: Command, text: string): string {
  const url = seedUrl(text);
  if (url === null) command.error(`error: --fleet must be the seed's URL as fleet serve printed it, e.g. http://10.77.0.1:8470 (got ${JSON.stringify(text)})`, { exitCode: 2, code: 'noi.badFleet' });
  return url;
}

function clientCommand(program: Command, name: string, summary: string): Command {
  return program
    .command(name)
    .summary(summary)
    .description(`${summary[0]!.toUpperCase()}${summary.slice(1)}.`)
    .option('--socket <path>', `daemon socket (default: $NOI_SOCKET, else ${DEFAULT_SOCKET_PATH})`)
    .option('--json', 'one JSON object per line instead of text, for scripts');
}

function finish(command: Command, limits: Record<string, number>, extraHelp = ''): Command {
  // A subcommand (fleet serve) is named with its parent's name.
  const parent = command.parent && command.parent.name() !== NAME ? `${command.parent.name()} ` : '';
  command.showHelpAfterError(`(${NAME} ${parent}${command.name()} --help shows its usage)`);
  command.addHelpText('after', `${extraHelp}\n${EXIT_STATUS_TEXT}\n`);
  return strict(command, limits);
}

// JSON: --json was on the command line, so a usage error is printed as JSON too.
export function buildProgram(run: Runners, setExitCode: (code: number) => void, json = false): Command {
  const errorStyle = styleFor(process.stderr);
  const program = new Command(NAME)
    .usage('<command> [options]')
    .description('Installs a NixOS configuration offline, from the live system\'s own Nix store.\nThe daemon does the installs; the other commands are its clients.')
    .version(VERSION, '--version', 'print the version')
    .helpOption('-h, --help', 'print this help')
    .helpCommand('help [command]', "print a command's help")
    .configureOutput({ outputError: (text, write) => (json ? process.stdout.write(usageErrorJson(text)) : write(errorStyle.red(text))) })
    .exitOverride();

  const daemon = program.command('daemon').summary('serve installs on the socket (as root; systemd starts it on the ISO)');
  daemon.description('Serves installs on the socket. Runs as root until SIGTERM or SIGINT; systemd starts it on the ISO.\nEach option is also read from the environment variable shown.');
  for (const o of DAEMON_OPTIONS) daemon.option(`--${o.flag} <${o.value}>`, `${o.env}: ${o.text}`);
  finish(daemon, Object.fromEntries(DAEMON_OPTIONS.map((o) => [o.flag, o.max])));
  daemon.action(async (options: Record<string, string | undefined>) => {
    // Back to the flag names the daemon's settings are documented under (socket-group, not socketGroup).
    const flags = Object.fromEntries(daemon.options.map((o) => [o.name(), options[o.attributeName()]]));
    setExitCode(await run.daemon(flags));
  });

  const status = clientCommand(program, 'status', 'show the configuration folder in use, the install state and the last check').option('--watch', 'keep printing events until interrupted (Ctrl-C)').option('--verbose', VERBOSE_HELP);
  finish(status, { socket: MAX_PATH_BYTES });
  status.action(async (o: { socket?: string; json?: boolean; watch?: boolean; verbose?: boolean }) => {
    setExitCode(await run.status({ socket: socketOf(o.socket), json: o.json === true, watch: o.watch === true, verbose: o.verbose === true }));
  });

  const validate = clientCommand(program, 'validate', 'check the configuration folder in use against a user and desktop, offline, in seconds')
    .option('--user <name>', 'the user to be created: must be a declared normal user')
    .option('--desktop <id>', 'a Calamares desktop id (gnome, plasma6, xfce, ...), or "" for none')
    .option('--flake-config <name>', FLAKE_CONFIG_HELP);
  finish(validate, { socket: MAX_PATH_BYTES });
  validate.action(async (o: { socket?: string; json?: boolean; user?: string; desktop?: string; flakeConfig?: string }) => {
    setExitCode(
      await run.validate({
        socket: socketOf(o.socket),
        json: o.json === true,
        ...(o.user !== undefined && { user: o.user }),
        ...(o.desktop !== undefined && { desktop: o.desktop }),
        ...(o.flakeConfig !== undefined && { flakeConfig: o.flakeConfig }),
      }),
    );
  });

  const install = clientCommand(program, 'install', 'install the configuration folder in use into a mounted target')
    .option('--root <dir>', 'the mounted target root, e.g. /mnt (a relative path is taken from the current folder)')
    .option('--answers <file>', 'unattended: partition, format and install the disk an answer file names (install.json, or its folder), instead of --root')
    .option('--user <name>', 'the user to be created: must be a declared normal user')
    .option('--desktop <id>', 'a Calamares desktop id (gnome, plasma6, xfce, ...), or "" for none')
    .option('--flake-config <name>', FLAKE_CONFIG_HELP)
    .option('--allow-unmounted', 'accept a root that is not a mount point (tests and demos only; root only)')
    .option('--fleet <url>', "a fleet target: install what the seed at URL checked and built, on the disk its answer file names (root only)")
    .option('--secret-file <file>', "with --fleet: a file holding the fleet's secret (default: nixos-offline-installer.fleet-secret on the kernel command line)")
    .option('--verbose', VERBOSE_HELP);
  finish(install, { socket: MAX_PATH_BYTES, root: MAX_PATH_BYTES, answers: MAX_PATH_BYTES, secretFile: MAX_PATH_BYTES }, '\nOn a terminal a progress bar is shown; Ctrl-C cancels the install (a second Ctrl-C leaves without waiting).');
  install.action(async (o: { socket?: string; json?: boolean; root?: string; answers?: string; user?: string; desktop?: string; flakeConfig?: string; allowUnmounted?: boolean; verbose?: boolean; fleet?: string; secretFile?: string }) => {
    if (o.fleet !== undefined) {
      if (o.root !== undefined || o.answers !== undefined || o.user !== undefined || o.desktop !== undefined || o.flakeConfig !== undefined) install.error("error: --fleet installs what the seed's answer file says: leave out --root, --answers, --user, --desktop and --flake-config", { exitCode: 2, code: 'noi.fleetAlone' });
      return setExitCode(await run.install({ socket: socketOf(o.socket), json: o.json === true, fleet: seedUrlOf(install, o.fleet), ...(o.secretFile !== undefined && { secretFile: resolve(o.secretFile) }), ...(o.verbose === true && { verbose: true }) }));
    }
    if (o.answers !== undefined && (o.root !== undefined || o.user !== undefined || o.desktop !== undefined)) {
      install.error('error: --answers takes the disk, user and desktop from the answer file: leave out --root, --user and --desktop', { exitCode: 2, code: 'noi.answersAlone' });
    }
    if (o.answers === undefined && o.root === undefined) {
      install.error("error: required option '--root <dir>' not specified (or --answers <file> for an unattended install, --fleet <url> for a fleet target)", { exitCode: 2, code: 'commander.missingMandatoryOptionValue' });
    }
    setExitCode(
      await run.install({
        socket: socketOf(o.socket),
        json: o.json === true,
        ...(o.answers !== undefined ? { answers: resolve(o.answers) } : { root: resolve(o.root!) }),
        ...(o.user !== undefined && { user: o.user }),
        ...(o.desktop !== undefined && { desktop: o.desktop }),
        ...(o.flakeConfig !== undefined && { flakeConfig: o.flakeConfig }),
        ...(o.allowUnmounted === true && { allowUnmounted: true }),
        ...(o.verbose === true && { verbose: true }),
      }),
    );
  });

  const cancel = clientCommand(program, 'cancel', 'cancel the running install');
  finish(cancel, { socket: MAX_PATH_BYTES });
  cancel.action(async (o: { socket?: string; json?: boolean }) => {
    setExitCode(await run.cancel({ socket: socketOf(o.socket), json: o.json === true }));
  });

  const calamares = clientCommand(program, 'calamares-settings', "write Calamares' settings.conf without the pages whose choices the configuration decides")
    .requiredOption('--settings <file>', 'settings.conf with every page (settings-all-pages.conf on the ISO)')
    .requiredOption('--out <dir>', 'writes <dir>/calamares/settings.conf, for Calamares to find first in XDG_CONFIG_DIRS (with --xdg-config)');
  finish(calamares, { socket: MAX_PATH_BYTES, settings: MAX_PATH_BYTES, out: MAX_PATH_BYTES }, '\nWithout an answer from the daemon, settings.conf is written with every page (exit status 3).');
  calamares.action(async (o: { socket?: string; json?: boolean; settings: string; out: string }) => {
    setExitCode(await run.calamaresSettings({ socket: socketOf(o.socket), json: o.json === true, settings: resolve(o.settings), out: resolve(o.out) }));
  });

  const medium = program
    .command('check-medium')
    .summary("verify every store path the live system carries against its registered hash (as root, no daemon)")
    .description("Verifies every store path the live system carries (on the ISO: the squashfs's, every system it can install) against the NAR hash registered for it, with progress and the time left, and names each damaged path.\nWith store paths given, only their closures.")
    .argument('[paths...]', 'store paths whose closures to check (default: every valid path)')
    .option('--json', 'one JSON object per line instead of text, for scripts');
  finish(medium, {});
  medium.action(async (paths: string[], o: { json?: boolean }) => {
    const odd = paths.find((p) => !/^\/nix\/store\/[0-9a-z]{32}-[^/]+$/.test(p));
    if (odd !== undefined) medium.error(`error: ${JSON.stringify(odd)} is not a store path (/nix/store/<hash>-<name>)`, { exitCode: 2, code: 'noi.notStorePath' });
    setExitCode(await run.checkMedium({ json: o.json === true, paths }));
  });

  const fleet = program.command('fleet').summary('install many machines over the network from this one (the seed)').description('Installs many machines over the network from this one (the seed).');
  const serve = clientCommand(fleet, 'serve', 'serve network boot and answer files to the machines on one interface, until Ctrl-C (as root)')
    .requiredOption('--interface <name>', 'the network interface the machines are on; DHCP is served there alone')
    .option('--address <cidr>', "the seed's address on it, e.g. 10.77.0.1/24: DHCP leases from the upper half of that network (without it: proxy DHCP beside the network's own server)")
    .requiredOption('--answers <dir>', 'answer files: <mac>.json (lower case, colons) for one machine, default.json for the others')
    .option('--port <n>', 'HTTP port of the netboot script and registration (default 8470)')
    .option('--ipxe <dir>', "iPXE binaries served over TFTP (default: the ISO's)")
    .option('--netboot <dir>', "the installer's netboot kernel, initrd and kernel-params (default: the ISO's)");
  finish(serve, { socket: MAX_PATH_BYTES, answers: MAX_PATH_BYTES, ipxe: MAX_PATH_BYTES, netboot: MAX_PATH_BYTES });
  serve.action(async (o: { socket?: string; json?: boolean; interface: string; address?: string; answers: string; port?: string; ipxe?: string; netboot?: string }) => {
    if (o.port !== undefined && !/^[1-9][0-9]{0,4}$/.test(o.port)) serve.error(`error: --port must be a TCP port number (got ${JSON.stringify(o.port)})`, { exitCode: 2, code: 'noi.badPort' });
    setExitCode(
      await run.fleetServe({
        socket: socketOf(o.socket),
        json: o.json === true,
        interface: o.interface,
        answers: resolve(o.answers),
        ...(o.address !== undefined && { address: o.address }),
        ...(o.port !== undefined && { port: Number(o.port) }),
        ...(o.ipxe !== undefined && { ipxe: resolve(o.ipxe) }),
        ...(o.netboot !== undefined && { netboot: resolve(o.netboot) }),
      }),
    );
  });

  const fleetStatus = clientCommand(fleet, 'status', "show each target of a fleet: its state, phase, progress, error and receipt")
    .option('--fleet <url>', 'the seed, as fleet serve printed it (default: the fleet this machine serves)')
    .option('--secret-file <file>', "a file holding the fleet's secret, as fleet serve printed it (default on the seed, as root: the fleet's own)")
    .option('--fleet-dir <dir>', "on the seed: the fleet's state folder, if its daemon was given --fleet-dir (default: NOI_FLEET_DIR or the installer's own)");
  finish(fleetStatus, { socket: MAX_PATH_BYTES, fleet: MAX_NAME_BYTES, secretFile: MAX_PATH_BYTES, fleetDir: MAX_PATH_BYTES }, "\n--json prints {\"targets\": [...]}, each target's mac, state, phase, fraction, bytesCopied, copyStartedMs, copyEndedMs, error and receipt.");
  fleetStatus.action(async (o: { socket?: string; json?: boolean; fleet?: string; secretFile?: string; fleetDir?: string }) => {
    setExitCode(await run.fleetStatus({ socket: socketOf(o.socket), json: o.json === true, ...(o.fleet !== undefined && { fleet: seedUrlOf(fleetStatus, o.fleet) }), ...(o.secretFile !== undefined && { secretFile: resolve(o.secretFile) }), ...(o.fleetDir !== undefined && { fleetDir: resolve(o.fleetDir) }) }));
  });

  program.addHelpText('after', `\n"${NAME} help <command>" shows a command's options.\n${EXIT_STATUS_TEXT}\n`);
  return program;
}

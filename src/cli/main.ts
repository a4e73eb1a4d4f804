#!/usr/bin/env node
// nixos-offline-installer: the daemon and its command-line client in one program.
import { CommanderError } from 'commander';
import { OptionError } from '../daemon/options.js';
import { SocketInUse } from '../daemon/socket-guard.js';
import { leaveQuietlyWhenOutputCloses } from './closed-output.js';
import { buildProgram, type Runners } from './program.js';
import { styleFor } from './terminal.js';
import { EXIT, UsageError, usageErrorJson } from './usage.js';

// Commands are loaded on use: a client run need not load the daemon's modules (start-up time).
const daemonCommand = () => import('./commands/daemon.js');
const clientCommands = () => import('./commands/client-commands.js');

const runners: Runners = {
  daemon: async (flags) => (await daemonCommand()).runDaemon(flags),
  status: async (flags) => (await clientCommands()).runStatus(flags),
  validate: async (flags) => (await clientCommands()).runValidate(flags),
  install: async (flags) => (await clientCommands()).runInstallCommand(flags),
  cancel: async (flags) => (await clientCommands()).runCancel(flags),
  calamaresSettings: async (flags) => (await import('./commands/calamares-settings.js')).runCalamaresSettings(flags),
  checkMedium: async (flags) => (await import('./commands/check-medium.js')).runCheckMedium(flags),
  fleetServe: async (flags) => (await import('./commands/fleet.js')).runFleetServe(flags),
  fleetStatus: async (flags) => (await import('./commands/fleet-status.js')).runFleetStatus(flags),
};

async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.ok;
  // Scripts that ask for --json read errors as JSON, the command line's own included.
  const json = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length).includes('--json');
  const program = buildProgram(runners, (c) => (code = c), json);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    // Commander has printed the help, the version or the error already.
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    const red = styleFor(process.stderr).red;
    if (error instanceof UsageError || error instanceof OptionError || error instanceof SocketInUse) {
      if (json) process.stdout.write(usageErrorJson(error.message));
      else process.stderr.write(red(`error: ${error.message}\n`));
      return EXIT.usage;
    }
    // The daemon went away or turned the connection down (a full socket): documented as exit 3, no stack.
    if ((error as Error)?.name === 'DaemonUnavailable') {
      process.stderr.write(red(`error: ${(error as Error).message}\n`));
      return EXIT.unavailable;
    }
    process.stderr.write(red(`error: ${(error as Error)?.stack ?? String(error)}\n`));
    return EXIT.failed;
  }
}

// Not the daemon: its output is its journal, and losing that is no reader's choice.
if (process.argv[2] !== 'daemon') leaveQuietlyWhenOutputCloses();
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});

#!/usr/bin/env node
// nixos-offline-installer: the daemon and its command-line client in one program.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_SOCKET_PATH } from '../protocol/messages.js';
import { OptionError } from '../daemon/options.js';
import { SocketInUse } from '../daemon/socket-guard.js';
import { VERSION } from '../version.js';
import { EXIT, USAGE, UsageError } from './usage.js';

const CLIENT_OPTIONS = { socket: { type: 'string' }, json: { type: 'boolean', default: false } } as const;
const DAEMON_OPTIONS = Object.fromEntries(
  ['socket', 'socket-group', 'config-dirs', 'nixos-expr', 'nixpkgs', 'manifest', 'log-dir', 'log-level', 'channel-profile'].map((name) => [name, { type: 'string' }]),
) as Record<string, { type: 'string' }>;

type Values = Record<string, string | boolean | undefined>;

function parse(args: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']): Values {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values as Values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

// Commands are loaded on use: a client run need not load the daemon's modules (start-up time).
const daemonCommand = () => import('./commands/daemon.js');
const clientCommands = () => import('./commands/client-commands.js');

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const socket = (value: unknown) => (typeof value === 'string' ? value : (process.env.NOI_SOCKET ?? DEFAULT_SOCKET_PATH));
  switch (command) {
    case 'daemon':
      return (await daemonCommand()).runDaemon(parse(rest, DAEMON_OPTIONS) as Record<string, string | undefined>);
    case 'status': {
      const v = parse(rest, { ...CLIENT_OPTIONS, watch: { type: 'boolean', default: false } });
      return (await clientCommands()).runStatus({ socket: socket(v.socket), json: v.json === true, watch: v.watch === true });
    }
    case 'install': {
      const v = parse(rest, { ...CLIENT_OPTIONS, root: { type: 'string' }, user: { type: 'string' }, desktop: { type: 'string' }, answers: { type: 'string' } });
      if (typeof v.answers === 'string') {
        if (v.root !== undefined || v.user !== undefined || v.desktop !== undefined) throw new UsageError('install --answers FILE takes the disk, user and desktop from the answer file: leave out --root, --user and --desktop');
        return (await clientCommands()).runInstallCommand({ socket: socket(v.socket), json: v.json === true, answers: resolve(v.answers) });
      }
      if (typeof v.root !== 'string') throw new UsageError('install needs --root DIR, the mounted target (e.g. --root /mnt), or --answers FILE for an unattended install');
      return (await clientCommands()).runInstallCommand({
        socket: socket(v.socket),
        json: v.json === true,
        root: v.root,
        ...(typeof v.user === 'string' && { user: v.user }),
        ...(typeof v.desktop === 'string' && { desktop: v.desktop }),
      });
    }
    case 'validate': {
      const v = parse(rest, { ...CLIENT_OPTIONS, user: { type: 'string' }, desktop: { type: 'string' } });
      return (await clientCommands()).runValidate({
        socket: socket(v.socket),
        json: v.json === true,
        ...(typeof v.user === 'string' && { user: v.user }),
        ...(typeof v.desktop === 'string' && { desktop: v.desktop }),
      });
    }
    case 'cancel': {
      const v = parse(rest, CLIENT_OPTIONS);
      return (await clientCommands()).runCancel({ socket: socket(v.socket), json: v.json === true });
    }
    case '--version':
      process.stdout.write(`${VERSION}\n`);
      return EXIT.ok;
    case undefined:
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? EXIT.usage : EXIT.ok;
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n\n${USAGE}`);
      process.exitCode = EXIT.usage;
    } else if (error instanceof OptionError || error instanceof SocketInUse) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = EXIT.usage;
    } else {
      process.stderr.write(`error: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = EXIT.failed;
    }
  },
);

// Runs one Nix command with its structured log: every `@nix` event becomes
// the line a person would have seen (in the install log, under the command's
// name), errors are kept whole for the failure description, and the caller
// sees each event (progress, builds, copies) as it happens.
import type { CommandContext } from '../common/context.js';
import type { InstallError } from '../common/install-error.js';
import { runStageCommand } from '../common/run-stage-command.js';
import type { ChildResult } from '../process/run-child.js';
import { NixActivities, parseNixLogLine, type NixLogEvent } from './log-format.js';
import { LOG_FORMAT_OPTIONS, NO_IMPORT_FROM_DERIVATION } from './options.js';
import { evalUser, evalUserEnv } from './eval-user.js';
import { isUntrustedClientNotice } from './errors.js';
import { clip } from '../common/clip.js';

// Messages kept for the failure description: the end of a long build's output is what matters.
const KEPT_MESSAGES = 400;
// ... each cut to this length (Nix hands on lines of up to 1 MiB).
const KEPT_MESSAGE_CHARS = 2048;

export interface NixRunOutcome {
  // What ran, as its log lines are labelled ("nix-instantiate", "nix-store --realise").
  command: string;
  result: ChildResult;
  activities: NixActivities;
  // Every message and log line, plainly, the most recent last (bounded).
  messages: string[];
}

export interface NixCommand {
  file: 'nix' | 'nix-build' | 'nix-instantiate' | 'nix-store';
  // Options only; OPERANDS (paths, flake references) follow `--`.
  args: readonly string[];
  operands?: readonly string[];
  source?: string;
  captureStdout?: boolean;
  logStdout?: boolean;
  onEvent?: (event: NixLogEvent, activities: NixActivities) => void;
  failure: (outcome: NixRunOutcome) => InstallError;
  // Added to root's environment (never to the eval user's).
  env?: Record<string, string>;
  // It evaluates the configuration's code: run as the eval user through nix-daemon (eval-user.ts), with no import from derivation.
  evaluates?: boolean;
}

export async function runNix(ctx: CommandContext, command: NixCommand): Promise<NixRunOutcome> {
  const source = command.source ?? command.file;
  const activities = new NixActivities();
  const messages: string[] = [];
  const keep = (line: string) => {
    if (messages.push(clip(line, KEPT_MESSAGE_CHARS)) > KEPT_MESSAGES) messages.splice(0, messages.length - KEPT_MESSAGES / 2);
  };
  let outcome: NixRunOutcome | null = null;
  const user = command.evaluates ? evalUser() : null;
  const result = await runStageCommand(ctx, {
    ...(user && { user: { uid: user.uid, gid: user.gid, cwd: user.home, env: evalUserEnv(user) } }),
    ...(!user && command.env && { env: command.env }),
    file: command.file,
    source,
    args: [...command.args, ...(command.evaluates ? NO_IMPORT_FROM_DERIVATION : []), ...LOG_FORMAT_OPTIONS, ...(command.operands ? ['--', ...command.operands] : [])],
    captureStdout: command.captureStdout ?? false,
    logStdout: command.logStdout ?? true,
    logStderr: false,
    onLine: (line, stream) => {
      if (stream === 'stdout') return;
      const event = parseNixLogLine(line);
      const text = event ? activities.handle(event) : line;
      if (text !== null) {
        // A message of several lines (an error with its source excerpt) is logged line by line.
        for (const part of text.split('\n')) {
          // Newer Nix sends nix-daemon's notices to an untrusted client at the error level: they are warnings.
          const notice = isUntrustedClientNotice(part);
          ctx.output(source, part, event?.action === 'msg' && event.level === 0 && !notice ? 'error' : 'info');
          if (!notice) keep(part);
        }
      }
      if (event) command.onEvent?.(event, activities);
    },
    failure: (res) => command.failure((outcome = { command: source, result: res, activities, messages })),
  });
  return outcome ?? { command: source, result, activities, messages };
}

// Runs one Nix command with its structured log: every `@nix` event becomes
// the line a person would have seen (in the install log, under the command's
// name), errors are kept whole for the failure description, and the caller
// sees each event (progress, builds, copies) as it happens.
import type { CommandContext } from '../step/context.js';
import type { InstallError } from '../step/install-error.js';
import { runStepCommand } from '../step/run-step-command.js';
import type { ChildResult } from '../process/run-child.js';
import { NixActivities, parseNixLogLine, type NixLogEvent } from './log-format.js';
import { LOG_FORMAT_OPTIONS } from './options.js';

// Messages kept for the failure description: the end of a long build's output is what matters.
const KEPT_MESSAGES = 400;

export interface NixRunOutcome {
  result: ChildResult;
  activities: NixActivities;
  // Every message and log line, plainly, the most recent last (bounded).
  messages: string[];
}

export interface NixCommand {
  file: 'nix' | 'nix-build' | 'nix-instantiate' | 'nix-store';
  args: readonly string[];
  source?: string;
  captureStdout?: boolean;
  logStdout?: boolean;
  onEvent?: (event: NixLogEvent, activities: NixActivities) => void;
  failure: (outcome: NixRunOutcome) => InstallError;
}

export async function runNix(ctx: CommandContext, command: NixCommand): Promise<NixRunOutcome> {
  const source = command.source ?? command.file;
  const activities = new NixActivities();
  const messages: string[] = [];
  const keep = (line: string) => {
    if (messages.push(line) > KEPT_MESSAGES) messages.splice(0, messages.length - KEPT_MESSAGES / 2);
  };
  let outcome: NixRunOutcome | null = null;
  const result = await runStepCommand(ctx, {
    file: command.file,
    source,
    args: [...command.args, ...LOG_FORMAT_OPTIONS],
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
          ctx.output(source, part, event?.action === 'msg' && event.level === 0 ? 'error' : 'info');
          keep(part);
        }
      }
      if (event) command.onEvent?.(event, activities);
    },
    failure: (res) => command.failure((outcome = { result: res, activities, messages })),
  });
  return outcome ?? { result, activities, messages };
}

// Structured logs: pino JSON lines on stdout, which systemd sends to the
// journal, and each install's lines in that install's own log file. The
// journal gets the daemon's own lines only; the commands' output (a build
// prints hundreds of thousands of lines, which journald would rate-limit,
// dropping ours with them) goes to the install log alone.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino, type DestinationStream, type Logger } from 'pino';
import { BatchedWriter } from './batched-writer.js';
import type { LogLevel } from './levels.js';

export type { Logger, LogLevel };

const NAME = 'nixos-offline-installer';
const journal = new BatchedWriter(1);
// What is still gathered when the process ends, even by an uncaught error, is written.
process.once('exit', () => journal.flushSync());

export function createLogger(level: LogLevel): Logger {
  return pino({ name: NAME, level }, journal);
}

export function flushJournal(): void {
  journal.flushSync();
}

export interface InstallLog {
  // The daemon's own lines: journal and install log.
  logger: Logger;
  // Commands' output: the install log only.
  output: Logger;
  // Everything logged so far is in the file after this.
  flush(): void;
  close(): void;
}

// Throws when the file cannot be created: an install must leave a log behind.
export function openInstallLog(level: LogLevel, file: string, installId: string): InstallLog {
  mkdirSync(dirname(file), { recursive: true });
  const fd = openSync(file, 'a', 0o640);
  // A later write error (the live system's tmpfs full) must not end the install; the journal keeps the lines.
  const fileWriter = new BatchedWriter(fd, (error) => pino({ name: NAME }, journal).warn({ err: error, file }, 'the install log file stopped accepting writes'));
  let closed = false;
  // Both destinations get the same serialized line; none reaches the fd once closed (its number may be reused).
  const both: DestinationStream = {
    write(line: string) {
      journal.write(line);
      if (!closed) fileWriter.write(line);
    },
  };
  const fileOnly: DestinationStream = {
    write(line: string) {
      if (!closed) fileWriter.write(line);
    },
  };
  const logger = pino({ name: NAME, level }, both).child({ installId });
  const output = pino({ name: NAME, level }, fileOnly).child({ installId });
  return {
    logger,
    output,
    flush: () => fileWriter.flushSync(),
    close() {
      if (closed) return;
      closed = true;
      fileWriter.flushSync();
      closeSync(fd);
    },
  };
}

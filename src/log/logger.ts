// Structured logs: pino JSON lines on stdout, which systemd sends to the
// journal, and each install's lines in that install's own log file. The
// journal gets the daemon's own lines only; the commands' output (a build
// prints hundreds of thousands of lines, which journald would rate-limit,
// dropping ours with them) goes to the install log alone.
import { closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino, type DestinationStream, type Level as LogLevel, type Logger } from 'pino';
import { BatchedWriter } from './batched-writer.js';
import { CappedLog, pruneInstallLogs } from './capped-log.js';

export type { Logger, LogLevel };

const NAME = 'nixos-offline-installer';
// Install logs kept on the live system, the newest of each kind (README, "Logs"): of installs that
// wrote to a target or disk, and of installs refused before that. The new one counts as either.
const KEPT_INSTALL_LOGS = { touched: 20 - 1, untouched: 10 - 1 };
// The field of an install log's last line that says whether the install wrote to its target.
export const TARGET_TOUCHED_FIELD = 'targetTouched';
const journal = new BatchedWriter(1);
// What is still gathered when the process ends, even by an uncaught error, is written.
process.once('exit', () => journal.flushSync());

export function createLogger(level: LogLevel): Logger {
  return pino({ name: NAME, level }, journal);
}

export function flushJournal(): void {
  journal.flushSync();
}

// Whether a finished install's log says it wrote to its target; a log without the closing line (a daemon killed
// mid-install) is kept as a real install's.
const LAST_BYTES = 4096;
function touchedTarget(file: string): boolean {
  let fd: number | null = null;
  try {
    // Never through a link, and never waiting on a pipe someone named like a log.
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    const info = fstatSync(fd);
    if (!info.isFile()) return true;
    const size = info.size;
    const buffer = Buffer.alloc(Math.min(size, LAST_BYTES));
    readSync(fd, buffer, 0, buffer.length, size - buffer.length);
    return !buffer.toString('utf8').includes(`"${TARGET_TOUCHED_FIELD}":false`);
  } catch {
    return true;
  } finally {
    if (fd !== null) closeSync(fd);
  }
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
  const dir = dirname(file);
  mkdirSync(dir, { recursive: true });
  pruneInstallLogs(KEPT_INSTALL_LOGS, () => readdirSync(dir), (name) => rmSync(join(dir, name), { force: true }), (name) => touchedTarget(join(dir, name)));
  const fd = openSync(file, 'a', 0o640);
  // A later write error (the live system's tmpfs full) must not end the install; the journal keeps the lines.
  const fileWriter = new CappedLog(
    new BatchedWriter(fd, (error) => pino({ name: NAME }, journal).warn({ err: error, file }, 'the install log file stopped accepting writes')),
    installId,
  );
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

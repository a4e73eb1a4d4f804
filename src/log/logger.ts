// Structured logs: pino JSON lines on stdout, which systemd sends to the journal.
import { pino, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const journal = pino.destination({ fd: 1, sync: false });

export function createLogger(level: LogLevel): Logger {
  return pino({ name: 'nixos-offline-installer', level }, journal);
}

// The same lines, also into one install's own log file (written synchronously,
// so a crash of the daemon still leaves everything up to it on disk).
export function createInstallLogger(level: LogLevel, file: string, installId: string): { logger: Logger; close(): void } {
  const fileStream = pino.destination({ dest: file, sync: true, mkdir: true });
  const logger = pino(
    { name: 'nixos-offline-installer', level },
    pino.multistream([
      { level, stream: journal },
      { level, stream: fileStream },
    ]),
  ).child({ installId });
  return {
    logger,
    close() {
      fileStream.flushSync();
      fileStream.end();
    },
  };
}

export function flushJournal(): void {
  try {
    journal.flushSync();
  } catch {
    // Not ready yet (nothing written): nothing to flush.
  }
}

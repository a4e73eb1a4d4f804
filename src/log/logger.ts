// Structured logs: pino JSON lines on stdout, which systemd sends to the journal.
import { pino, type Logger } from 'pino';

export type { Logger };

import type { LogLevel } from './levels.js';

export type { LogLevel };

const journal = pino.destination({ fd: 1, sync: false });

export function createLogger(level: LogLevel): Logger {
  return pino({ name: 'nixos-offline-installer', level }, journal);
}

export interface InstallLog {
  logger: Logger;
  // Everything logged so far is in the file once this resolves.
  flush(): Promise<void>;
  close(): Promise<void>;
}

// The same lines, also into one install's own log file. Buffered (a build can
// print tens of thousands of lines; a write each would slow it down) and
// flushed when the install ends; the journal has the same lines meanwhile.
// Rejects when the file cannot be opened: an install must leave a log behind.
export async function openInstallLog(level: LogLevel, file: string, installId: string): Promise<InstallLog> {
  const fileStream = pino.destination({ dest: file, sync: false, mkdir: true, minLength: 8 * 1024 });
  await new Promise<void>((resolve, reject) => {
    fileStream.once('ready', resolve);
    fileStream.once('error', reject);
  });
  let broken = false;
  // A later write error (the live system's tmpfs full) must not end the daemon; the journal keeps the lines.
  fileStream.on('error', (error) => {
    if (!broken) journalLogger().warn({ err: error, file }, 'the install log file stopped accepting writes');
    broken = true;
  });
  const logger = pino(
    { name: 'nixos-offline-installer', level },
    pino.multistream([
      { level, stream: journal },
      { level, stream: fileStream },
    ]),
  ).child({ installId });
  const flush = async () => {
    if (broken) return;
    try {
      fileStream.flushSync();
    } catch (error) {
      broken = true;
      journalLogger().warn({ err: error, file }, 'the install log file could not be flushed');
    }
  };
  return {
    logger,
    flush,
    async close() {
      await flush();
      fileStream.end();
    },
  };
}

let fallback: Logger | null = null;
function journalLogger(): Logger {
  fallback ??= pino({ name: 'nixos-offline-installer' }, journal);
  return fallback;
}

export function flushJournal(): void {
  try {
    journal.flushSync();
  } catch {
    // Not ready yet (nothing written): nothing to flush.
  }
}

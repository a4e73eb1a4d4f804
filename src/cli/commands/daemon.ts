// `nixos-offline-installer daemon`: runs until SIGTERM/SIGINT, then cancels a
// running install (its child processes included) and removes the socket.
import { createLogger, flushJournal } from '../../log/logger.js';
import { Daemon } from '../../daemon/server.js';
import { daemonOptions } from '../../daemon/options.js';

export async function runDaemon(flags: Record<string, string | undefined>): Promise<number> {
  const options = daemonOptions(flags);
  const logger = createLogger(options.logLevel);
  const daemon = new Daemon(options, logger);
  await daemon.start();
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      daemon
        .stop()
        .catch((error: unknown) => logger.error({ err: error }, 'error while stopping'))
        .finally(() => {
          logger.info('stopped');
          flushJournal();
          resolve(0);
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

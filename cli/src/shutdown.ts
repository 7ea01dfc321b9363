import type { Logger } from 'pino';

/**
 * Resolves on the first SIGINT/SIGTERM after running `close` (which must flush what it holds).
 * A second signal while closing exits at once.
 */
export function untilSignal(log: Logger, close: () => Promise<void>): Promise<number> {
  return new Promise((resolve) => {
    let closing = false;
    const onSignal = (signal: NodeJS.Signals): void => {
      if (closing) {
        log.warn({ signal }, 'second signal while shutting down; exiting now');
        process.exit(130);
      }
      closing = true;
      log.info({ signal }, 'shutting down');
      close().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'error while shutting down');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

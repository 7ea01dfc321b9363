import { startServer } from '@kiln/server';
import type { Command } from '../command.js';
import { logLevelFlag } from '../command.js';
import { untilSignal } from '../shutdown.js';
import { serverFlags, serverOptions } from './server.js';

export const upCommand: Command = {
  name: 'up',
  summary: 'All-in-one: the server on embedded storage, the agent on this host and the UI; prints the UI URL.',
  flags: { port: serverFlags.port!, data: serverFlags.data!, ...logLevelFlag },
  async run(values, log) {
    const server = await startServer({ ...serverOptions({ ...values, host: '0.0.0.0', retention: 7 * 86_400_000 }), logger: log });
    const uiUrl = server.url.replace('0.0.0.0', 'localhost');
    log.info({ url: uiUrl }, 'kiln is up');
    process.stdout.write(`\nKiln is up: open ${uiUrl}\n\n`);
    return untilSignal(log, () => server.close());
  },
};

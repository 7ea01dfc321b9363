// The server the UI tests drive: the real `kiln server` with its own data directory.
import { rmSync } from 'node:fs';
import { startServer } from './kiln.js';

export interface UiServer {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startUiServer(): Promise<UiServer> {
  const server = await startServer();
  return {
    url: server.url,
    output: () => server.output(),
    stop: async () => {
      await server.stop();
      rmSync(server.dataDir, { recursive: true, force: true });
    },
  };
}

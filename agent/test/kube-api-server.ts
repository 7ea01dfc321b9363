// An HTTP server answering as the Kubernetes API does for a node's pods, from recorded responses
// in fixtures/kube/: each list request takes the next PodList, and a watch request stays open
// (as the API keeps it) until the test sends it the next file of newline-delimited watch events.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const FIXTURES = new URL('fixtures/kube/', import.meta.url);

export function fixture(name: string): string {
  return readFileSync(new URL(name, FIXTURES), 'utf8');
}

export class RecordedKubeApi {
  readonly #server: Server;
  readonly #lists: string[];
  /** Status codes to answer list requests with before serving the lists. */
  readonly #listFailures: number[];
  #watch: ServerResponse | undefined;
  /** Every request's URL, in order. */
  readonly requests: URL[] = [];

  constructor({ lists, listFailures = [] }: { lists: string[]; listFailures?: number[] }) {
    this.#lists = [...lists];
    this.#listFailures = [...listFailures];
    this.#server = createServer((req, res) => this.#answer(req, res));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get watching(): boolean {
    return this.#watch !== undefined;
  }

  get lists(): URL[] {
    return this.requests.filter((url) => url.searchParams.get('watch') !== 'true');
  }

  get watches(): URL[] {
    return this.requests.filter((url) => url.searchParams.get('watch') === 'true');
  }

  /** Sends the open watch a recorded file of events; `end` closes the stream after them, as the API does after an ERROR event. */
  send(file: string, { end = false } = {}): void {
    const watch = this.#watch;
    if (watch === undefined) throw new Error('no watch is open');
    watch.write(fixture(file));
    if (end) {
      this.#watch = undefined;
      watch.end();
    }
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.#server.close((err) => (err ? reject(err) : resolve())));
  }

  #answer(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://api');
    this.requests.push(url);
    if (url.pathname !== '/api/v1/pods') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(status(404, 'NotFound', `no route ${url.pathname}`));
      return;
    }
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      res.flushHeaders();
      this.#watch = res;
      res.on('close', () => {
        if (this.#watch === res) this.#watch = undefined;
      });
      return;
    }
    const failure = this.#listFailures.shift();
    if (failure !== undefined) {
      res.writeHead(failure, { 'content-type': 'application/json' }).end(status(failure, 'InternalError', 'etcdserver: request timed out'));
      return;
    }
    const list = this.#lists.shift();
    if (list === undefined) throw new Error('the test served every recorded list');
    res.writeHead(200, { 'content-type': 'application/json' }).end(fixture(list));
  }
}

function status(code: number, reason: string, message: string): string {
  return JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

/** Polls until `condition` holds: the watch applies events asynchronously. */
export async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

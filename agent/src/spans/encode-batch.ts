// The body of POST /api/v1/ingest/spans: an AgentSpanBatch, msgpack, gzipped.
import { gzipSync } from 'node:zlib';
import type { AgentSpan } from '@kiln/api/http';
import { Packr } from 'msgpackr';

export class SpanBatchEncoder {
  /**
   * Records: each object shape's keys are written once per batch, not once per span, which halves
   * the bytes to gzip. Without shared structures every message carries its own record definitions,
   * so the server's plain msgpackr `unpack` reads it unchanged.
   */
  readonly #packr = new Packr({ useRecords: true });

  encode(spans: AgentSpan[]): Buffer {
    return gzipSync(this.#packr.pack({ spans }));
  }
}

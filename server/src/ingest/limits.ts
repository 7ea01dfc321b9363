// Ingest limits: what one upload may hold, and how much the server takes at once.

export interface IngestLimits {
  /** Largest request body as received (before any decompression). */
  maxBodyBytes: number;
  /** Largest profile after decompression. */
  maxProfileBytes: number;
  /** Samples (pprof samples, or folded lines) in one profile. */
  maxSamplesPerProfile: number;
  /** Labels of one series, `service` included. */
  maxLabelsPerSeries: number;
  /** Frames in one stack; deeper stacks keep their leaf-most frames under a `[truncated]` root. */
  maxStackDepth: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  /** Bytes of uploads being parsed or waiting for their insert; over it, 429. */
  maxInflightBytes: number;
  /** Sustained ingest rate in body bytes per second (token bucket, burst = 10 s worth); 0 = no limit. */
  rateBytesPerSecond: number;
  /** How long the insert batcher waits for more uploads before it writes a batch. */
  batchLingerMs: number;
  /** A batch is written at once when it holds this many sample rows. */
  batchMaxRows: number;
  /** How long uploads wait to be stored as received (kiln_profiles) in one insert... */
  uploadLingerMs: number;
  /** ...unless they reach this many bytes first. */
  uploadMaxBytes: number;
}

// Pyroscope's defaults for comparison: 4 MiB profiles, 16,000 samples, depth 1,000,
// 30 label names, 1,024-byte names, 2,048-byte values. Ours are at least as generous.
export const defaultIngestLimits: IngestLimits = {
  maxBodyBytes: 16 * 1024 * 1024,
  maxProfileBytes: 64 * 1024 * 1024,
  maxSamplesPerProfile: 200_000,
  maxLabelsPerSeries: 64,
  maxStackDepth: 1024,
  maxLabelNameLength: 1024,
  maxLabelValueLength: 4096,
  maxInflightBytes: 256 * 1024 * 1024,
  rateBytesPerSecond: 0,
  batchLingerMs: 5,
  batchMaxRows: 200_000,
  uploadLingerMs: 1000,
  uploadMaxBytes: 4 * 1024 * 1024,
};

/** A client mistake in an upload: becomes a 4xx with this message. */
export class IngestError extends Error {
  override name = 'IngestError';
  constructor(
    readonly statusCode: number,
    message: string,
    /** The `reason` label of kiln_ingest_rejected_total. */
    readonly reason: string,
  ) {
    super(message);
  }
}

/** Token bucket over body bytes; `take` answers how many seconds to wait when empty. */
export class TokenBucket {
  #tokens: number;
  #last = performance.now();
  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {
    this.#tokens = burst;
  }

  /** 0 when `n` tokens were taken, else the seconds until they would be there (nothing taken). */
  take(n: number): number {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#last) / 1000) * this.rate);
    this.#last = now;
    const need = Math.min(n, this.burst);
    if (this.#tokens >= need) {
      this.#tokens -= need;
      return 0;
    }
    return (need - this.#tokens) / this.rate;
  }
}

// The insert batcher: uploads arriving together are written in one insert per table, all in
// TabSeparated. Each upload's promise settles when the batches holding it are in storage (or failed).
import type { Catalog } from '../catalog.js';
import type { InsertTsv } from '../storage/clickhouse.js';
import { T } from '../storage/tables.js';
import { UploadBuilder, type UploadRows } from './rows.js';
import { BufferPool, tsvEscape, tsvStringArray, tsvStringMap, TsvWriter } from './tsv.js';

export interface WriterOptions {
  lingerMs: number;
  maxRows: number;
  /** How long stored uploads (kiln_profiles) wait to share one insert... */
  uploadLingerMs: number;
  /** ...or until they hold this many bytes. */
  uploadMaxBytes: number;
  /** Batches of sample rows written at the same time (embedded: 2, so one is parsed into while the other is written). */
  concurrency: number;
  /** Called after each batch of sample rows with its duration and size. */
  onFlush?: (seconds: number, rows: number, uploads: number, ok: boolean) => void;
  /** Called after each insert of uploads as received. */
  onRawFlush?: (seconds: number, uploads: number, ok: boolean) => void;
}

const SAMPLE_COLUMNS = ['profile_type', 'service', 'series_fp', 'time', 'stack_hash', 'value', 'span_id', 'trace_id'];
const FUNCTION_COLUMNS = ['function_id', 'name', 'system_name', 'filename', 'start_line', 'binary', 'seen_day'];
const SERIES_COLUMNS = ['profile_type', 'unit', 'service', 'series_fp', 'hour', 'labels'];
const PROFILE_COLUMNS = [
  'id',
  'time',
  'until',
  'service',
  'labels',
  'profile_types',
  'series_fps',
  'format',
  'spy_name',
  'sample_rate',
  'samples',
  'size',
  'payload',
];

/**
 * Uploads go through two queues: their sample rows (and the functions, stacks and series those
 * need) in small batches that keep uploads quick, and the uploads as received (kiln_profiles: nearly
 * all the bytes that go to disk) in fewer, larger inserts, because each insert is a part that
 * storage writes and then merges again and again (2,352 uploads of 110 KiB stored into chDB took
 * 7.8 CPU-s in inserts of 14, 5.1 in inserts of 49, 4.0 in inserts of 98). An upload is answered
 * once both are in storage.
 */
export class InsertBatcher {
  readonly #rows: InsertQueue;
  readonly #uploads: InsertQueue;

  constructor(insertTsv: InsertTsv, catalog: Catalog, opts: WriterOptions) {
    const uploadBuffers = new BufferPool(2);
    this.#uploads = new InsertQueue(
      (batch) => insertUploads(insertTsv, uploadBuffers, batch),
      (u) => u.payload.length + 512,
      {
        lingerMs: opts.uploadLingerMs,
        max: opts.uploadMaxBytes,
        concurrency: 1,
        onFlush: (seconds, _size, uploads, ok) => opts.onRawFlush?.(seconds, uploads, ok),
      },
    );
    const rowBuffers = new BufferPool(1 + opts.concurrency);
    this.#rows = new InsertQueue(
      (batch) => insertRows(insertTsv, rowBuffers, catalog, batch),
      (u) => u.samples.length,
      {
        lingerMs: opts.lingerMs,
        max: opts.maxRows,
        concurrency: opts.concurrency,
        onFlush: opts.onFlush,
        // No more sample rows to write: no other upload is coming soon, so the raw ones need not wait.
        onIdle: () => this.#uploads.flush(),
      },
    );
  }

  /** Resolves once `rows` are inserted. */
  async write(rows: UploadRows): Promise<void> {
    await Promise.all([this.#uploads.write(rows), this.#rows.write(rows)]);
  }

  /** Stops taking uploads and waits for the batches already taken. */
  async close(): Promise<void> {
    await Promise.all([this.#rows.close(), this.#uploads.close()]);
  }
}

interface Waiter {
  rows: UploadRows;
  resolve: () => void;
  reject: (err: Error) => void;
}

interface QueueOptions {
  lingerMs: number;
  /** A batch is due at once when it holds this much (as `size` counts). */
  max: number;
  concurrency: number;
  onFlush?: (seconds: number, size: number, uploads: number, ok: boolean) => void;
  /** Called when nothing is waiting or being written. */
  onIdle?: () => void;
}

/**
 * Uploads arriving together, written in one insert once the batch is due (full, `lingerMs` old, or
 * asked for) and fewer than `concurrency` inserts are running; each upload's promise settles with
 * its batch.
 */
class InsertQueue {
  #open: Waiter[] = [];
  #openSize = 0;
  #due = false;
  #timer: NodeJS.Timeout | undefined;
  #flushing = 0;
  #closed = false;
  readonly #idle = new Set<() => void>();

  constructor(
    readonly insert: (batch: UploadRows[]) => Promise<number>,
    readonly size: (rows: UploadRows) => number,
    readonly opts: QueueOptions,
  ) {}

  write(rows: UploadRows): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the server is shutting down'));
    return new Promise((resolve, reject) => {
      this.#open.push({ rows, resolve, reject });
      this.#openSize += this.size(rows);
      if (this.#openSize >= this.opts.max) this.flush();
      else this.#timer ??= setTimeout(() => this.flush(), this.opts.lingerMs);
    });
  }

  /** Makes the open batch due: written now, or as soon as a running insert ends. */
  flush(): void {
    if (this.#open.length === 0) return;
    this.#due = true;
    if (this.#flushing >= this.opts.concurrency) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#due = false;
    const batch = this.#open;
    this.#open = [];
    this.#openSize = 0;
    this.#flushing++;
    void this.#write(batch).finally(() => {
      this.#flushing--;
      if (this.#due) this.flush();
      else if (this.#open.length === 0 && this.#flushing === 0) {
        for (const f of this.#idle) f();
        this.opts.onIdle?.();
      }
    });
  }

  async #write(batch: Waiter[]): Promise<void> {
    const started = performance.now();
    let size = 0;
    try {
      size = await this.insert(batch.map((w) => w.rows));
      this.opts.onFlush?.((performance.now() - started) / 1000, size, batch.length, true);
      for (const w of batch) w.resolve();
    } catch (err) {
      this.opts.onFlush?.((performance.now() - started) / 1000, size, batch.length, false);
      for (const w of batch) w.reject(err as Error);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.flush();
    while (this.#flushing > 0 || this.#open.length > 0) {
      await new Promise<void>((resolve) => {
        this.#idle.add(resolve);
        setTimeout(resolve, 50);
      });
      this.#idle.clear();
      this.flush();
    }
  }
}

/** Sample rows, after the functions, stacks and series they need; the count of sample rows. */
async function insertRows(insertTsv: InsertTsv, pool: BufferPool, catalog: Catalog, uploads: UploadRows[]): Promise<number> {
  const functions: string[] = [];
  const stacks: string[] = [];
  const series: string[] = [];
  const samples = new TsvWriter(
    uploads.reduce((n, u) => n + 100 * u.samples.length, 0),
    pool,
  );
  let rows = 0;
  try {
    for (const u of uploads) {
      const day = isoDay(Number(u.profile.time));
      for (const [id, f] of u.functions) {
        const i = f.info;
        functions.push(
          `${id}\t${tsvEscape(i.name)}\t${tsvEscape(i.systemName)}\t${tsvEscape(i.filename)}\t${i.startLine}\t${tsvEscape(i.binary)}\t${day}\n`,
        );
      }
      for (const [hash, s] of u.stacks) stacks.push(`${hash}\t[${s.frames.join(',')}]\t${day}\n`);
      for (const s of u.series) {
        series.push(
          `${tsvEscape(s.profile_type)}\t${tsvEscape(s.unit)}\t${tsvEscape(s.service)}\t${s.series_fp}\t${s.hour}\t${tsvStringMap(Object.entries(s.labels))}\n`,
        );
      }
      u.samples.writeTsv(samples);
      rows += u.samples.length;
    }
    // Dictionaries first, so a query never sees a sample whose stack it cannot resolve.
    if (functions.length > 0) await insertTsv(T.functions, FUNCTION_COLUMNS, Buffer.from(functions.join('')));
    if (stacks.length > 0) await insertTsv(T.stacks, ['stack_hash', 'frames', 'seen_day'], Buffer.from(stacks.join('')));
    if (series.length > 0) await insertTsv(T.series, SERIES_COLUMNS, Buffer.from(series.join('')));
    if (rows > 0) await insertTsv(T.samples, SAMPLE_COLUMNS, samples.result());
  } finally {
    samples.release();
  }
  for (const u of uploads) UploadBuilder.markWritten(catalog, u);
  return rows;
}

/** The uploads as they came, a kiln_profiles row each. */
async function insertUploads(insertTsv: InsertTsv, pool: BufferPool, uploads: UploadRows[]): Promise<number> {
  const w = new TsvWriter(
    uploads.reduce((n, u) => n + u.payload.length + 1024, 0),
    pool,
  );
  try {
    for (const u of uploads) {
      const p = u.profile;
      const fields = [
        p.id,
        p.time,
        p.until,
        tsvEscape(p.service),
        tsvStringMap(Object.entries(p.labels)),
        tsvStringArray(p.profile_types),
        `[${p.series_fps.join(',')}]`,
      ];
      fields.push(tsvEscape(p.format), tsvEscape(p.spy_name), String(p.sample_rate), String(p.samples), String(p.size), '');
      w.text(fields.join('\t'));
      w.escapedBytes(u.payload);
      w.newline();
    }
    await insertTsv(T.profiles, PROFILE_COLUMNS, w.result());
  } finally {
    w.release();
  }
  return uploads.length;
}

function isoDay(unixSeconds: number): string {
  return new Date(Math.floor(unixSeconds) * 1000).toISOString().slice(0, 10);
}

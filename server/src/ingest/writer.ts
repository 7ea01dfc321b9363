// The insert batcher: uploads arriving together are written in one insert per table, all in
// TabSeparated. Each upload's promise settles when the batch holding it is in storage (or failed).
import type { Catalog } from '../catalog.js';
import type { InsertTsv } from '../storage/clickhouse.js';
import { T } from '../storage/tables.js';
import { UploadBuilder, type UploadRows } from './rows.js';
import { pushTsvBytes, tsvEscape, tsvStringArray, tsvStringMap } from './tsv.js';

interface Waiter {
  rows: UploadRows;
  resolve: () => void;
  reject: (err: Error) => void;
}

export interface WriterOptions {
  lingerMs: number;
  maxRows: number;
  /** Batches written at the same time (embedded: 2, so one is parsed into while the other is written). */
  concurrency: number;
  /** Called after each batch with its duration and size. */
  onFlush?: (seconds: number, rows: number, uploads: number, ok: boolean) => void;
}

const SAMPLE_COLUMNS = ['profile_type', 'service', 'series_fp', 'time', 'stack_hash', 'value', 'span_id', 'trace_id'];
const FUNCTION_COLUMNS = ['function_id', 'name', 'system_name', 'filename', 'start_line', 'binary', 'seen_day'];
const SERIES_COLUMNS = ['profile_type', 'unit', 'service', 'series_fp', 'hour', 'labels'];
const PROFILE_COLUMNS = ['id', 'time', 'until', 'service', 'labels', 'profile_types', 'series_fps', 'format', 'spy_name', 'sample_rate', 'samples', 'size', 'payload'];
const NEWLINE = Buffer.from('\n');

export class InsertBatcher {
  #open: Waiter[] = [];
  #openRows = 0;
  #timer: NodeJS.Timeout | undefined;
  #flushing = 0;
  #closed = false;
  readonly #idle = new Set<() => void>();

  constructor(
    readonly insertTsv: InsertTsv,
    readonly catalog: Catalog,
    readonly opts: WriterOptions,
  ) {}

  /** Resolves once `rows` are inserted. */
  write(rows: UploadRows): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('the server is shutting down'));
    return new Promise((resolve, reject) => {
      this.#open.push({ rows, resolve, reject });
      this.#openRows += rows.samples.length;
      if (this.#openRows >= this.opts.maxRows) this.#maybeFlush(true);
      else this.#timer ??= setTimeout(() => this.#maybeFlush(true), this.opts.lingerMs);
    });
  }

  /** Uploads waiting for their insert. */
  get pending(): number {
    return this.#open.length;
  }

  #maybeFlush(due: boolean): void {
    if (!due || this.#open.length === 0) return;
    if (this.#flushing >= this.opts.concurrency) return; // flushed when a running batch ends
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#open;
    this.#open = [];
    this.#openRows = 0;
    this.#flushing++;
    void this.#flush(batch).finally(() => {
      this.#flushing--;
      if (this.#open.length > 0) this.#maybeFlush(true);
      else if (this.#flushing === 0) for (const f of this.#idle) f();
    });
  }

  async #flush(batch: Waiter[]): Promise<void> {
    const started = performance.now();
    let rows = 0;
    try {
      rows = await this.#insert(batch.map((w) => w.rows));
      for (const w of batch) UploadBuilder.markWritten(this.catalog, w.rows);
      this.opts.onFlush?.((performance.now() - started) / 1000, rows, batch.length, true);
      for (const w of batch) w.resolve();
    } catch (err) {
      this.opts.onFlush?.((performance.now() - started) / 1000, rows, batch.length, false);
      for (const w of batch) w.reject(err as Error);
    }
  }

  async #insert(uploads: UploadRows[]): Promise<number> {
    const functions: string[] = [];
    const stacks: string[] = [];
    const series: string[] = [];
    const profiles: Buffer[] = [];
    const samples: string[] = [];
    for (const u of uploads) {
      const day = isoDay(Number(u.profile.time));
      for (const [id, f] of u.functions) {
        const i = f.info;
        functions.push(`${id}\t${tsvEscape(i.name)}\t${tsvEscape(i.systemName)}\t${tsvEscape(i.filename)}\t${i.startLine}\t${tsvEscape(i.binary)}\t${day}\n`);
      }
      for (const [hash, s] of u.stacks) stacks.push(`${hash}\t[${s.frames.join(',')}]\t${day}\n`);
      for (const s of u.series) {
        series.push(`${tsvEscape(s.profile_type)}\t${tsvEscape(s.unit)}\t${tsvEscape(s.service)}\t${s.series_fp}\t${s.hour}\t${tsvStringMap(Object.entries(s.labels))}\n`);
      }
      pushProfileRow(profiles, u);
      for (const line of u.samples) samples.push(line);
    }
    // Dictionaries first, so a query never sees a sample whose stack it cannot resolve.
    if (functions.length > 0) await this.insertTsv(T.functions, FUNCTION_COLUMNS, Buffer.from(functions.join('')));
    if (stacks.length > 0) await this.insertTsv(T.stacks, ['stack_hash', 'frames', 'seen_day'], Buffer.from(stacks.join('')));
    if (series.length > 0) await this.insertTsv(T.series, SERIES_COLUMNS, Buffer.from(series.join('')));
    // The two big inserts go together: samples do not need the raw profiles first.
    await Promise.all([
      this.insertTsv(T.profiles, PROFILE_COLUMNS, Buffer.concat(profiles)),
      samples.length > 0 ? this.insertTsv(T.samples, SAMPLE_COLUMNS, Buffer.from(samples.join(''))) : undefined,
    ]);
    return samples.length;
  }

  /** Stops taking uploads and waits for the batches already taken. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#maybeFlush(true);
    while (this.#flushing > 0 || this.#open.length > 0) {
      await new Promise<void>((resolve) => {
        this.#idle.add(resolve);
        setTimeout(resolve, 50);
      });
      this.#idle.clear();
      this.#maybeFlush(true);
    }
  }
}

/** The upload's row of kiln_profiles, its raw bytes as they came. */
function pushProfileRow(out: Buffer[], u: UploadRows): void {
  const p = u.profile;
  const fields = [p.id, p.time, p.until, tsvEscape(p.service), tsvStringMap(Object.entries(p.labels)), tsvStringArray(p.profile_types), `[${p.series_fps.join(',')}]`];
  fields.push(tsvEscape(p.format), tsvEscape(p.spy_name), String(p.sample_rate), String(p.samples), String(p.size), '');
  out.push(Buffer.from(fields.join('\t')));
  pushTsvBytes(out, u.payload);
  out.push(NEWLINE);
}

function isoDay(unixSeconds: number): string {
  return new Date(Math.floor(unixSeconds) * 1000).toISOString().slice(0, 10);
}

// Which server spans one thread served at the same time. The kernel stamps a thread with the span
// it last started reading, so on an event loop serving several requests at once a CPU sample
// belongs to whichever request was read last: such a span's samples are its thread's window, not
// its own work alone, and the span says so.

interface Window {
  spanId: string;
  startNs: bigint;
  /** Undefined while the span is open. */
  endNs: bigint | undefined;
  /** Its id is the kernel's, so CPU samples carry it. */
  stamped: boolean;
}

export interface Attribution {
  attribution: 'exact' | 'thread-window';
  overlapped: number;
  /** Ids whose stamps began inside the window, this span's included; empty when it is the only one. */
  stamps: string[];
}

/** Windows kept per thread: a thread serving more at once than this is counted as serving this many. */
const MAX_WINDOWS_PER_THREAD = 1024;

export class ThreadWindows {
  #threads = new Map<string, Window[]>();

  open(thread: string, spanId: string, startNs: bigint, stamped: boolean): void {
    let windows = this.#threads.get(thread);
    if (!windows) this.#threads.set(thread, (windows = []));
    if (windows.length >= MAX_WINDOWS_PER_THREAD) windows.shift();
    windows.push({ spanId, startNs, endNs: undefined, stamped });
  }

  /** Ends a span's window and says how it shared the thread; undefined when it was never opened. */
  close(thread: string, spanId: string, endNs: bigint): Attribution | undefined {
    const windows = this.#threads.get(thread);
    const own = windows?.find((w) => w.spanId === spanId);
    if (!windows || !own) return undefined;
    own.endNs = endNs;
    let overlapped = 0;
    const stamps: string[] = [];
    for (const w of windows) {
      if (w !== own && w.startNs < endNs && (w.endNs === undefined || w.endNs > own.startNs)) overlapped++;
      if (w.stamped && w.startNs >= own.startNs && w.startNs <= endNs) stamps.push(w.spanId);
    }
    this.#prune(thread, windows);
    return { attribution: overlapped === 0 ? 'exact' : 'thread-window', overlapped, stamps: stamps.length > 1 ? stamps : [] };
  }

  /** Forgets a span that will not be reported (its connection was evicted). */
  drop(thread: string, spanId: string): void {
    const windows = this.#threads.get(thread);
    if (!windows) return;
    const at = windows.findIndex((w) => w.spanId === spanId);
    if (at >= 0) windows.splice(at, 1);
    this.#prune(thread, windows);
  }

  /** Closed windows matter only while an open one started before they ended. */
  #prune(thread: string, windows: Window[]): void {
    let oldestOpen: bigint | undefined;
    for (const w of windows) if (w.endNs === undefined && (oldestOpen === undefined || w.startNs < oldestOpen)) oldestOpen = w.startNs;
    const kept = windows.filter((w) => w.endNs === undefined || (oldestOpen !== undefined && w.endNs > oldestOpen));
    if (kept.length === 0) this.#threads.delete(thread);
    else this.#threads.set(thread, kept);
  }
}

// Cuts one direction of a connection into protocol frames across syscalls. The kernel hands over
// each syscall's first bytes only (256 by default), so a frame's length is counted in stream bytes
// (SocketEvent.bytes) and the bytes past the capture are skipped by count, never read. When a
// frame's header itself is past the capture, the framer gives up on the rest of that syscall and
// takes the next one as starting a frame: applications write a message per syscall far more often
// than not, so that resynchronises where nothing else could.
import type { SocketEvent } from './socket-event.js';

/** `length` is in stream bytes and may run past the captured bytes and past this syscall. */
export type FrameRead<T> = { length: number; frame: T } | 'incomplete' | 'invalid';
/**
 * Reads the frame at the start of `captured`; `streamBytes` is how many stream bytes this syscall
 * still holds from there (at least captured.length). Must not keep state when incomplete: it is
 * called again with more bytes.
 */
export type FrameReader<T> = (captured: Uint8Array, streamBytes: number) => FrameRead<T>;

/** Bytes of an incomplete frame kept for the next syscall: a header split over small writes. */
const MAX_CARRY = 4096;

export class Framer<T> {
  #carry: Uint8Array = new Uint8Array(0);
  #carryFirst: SocketEvent | undefined;
  #skip = 0;
  #endedSkipped = false;
  /** Syscalls whose bytes (or a remainder) were not a frame. */
  invalid = 0;

  constructor(private readonly read: FrameReader<T>) {}

  /** The last push reached the end of a frame that began in an earlier syscall (a long body, a large value). */
  get endedSkippedFrame(): boolean {
    return this.#endedSkipped;
  }

  /** The frames that begin in this syscall, each with the event that carried its first bytes. */
  push(event: SocketEvent): { frame: T; first: SocketEvent }[] {
    let data = event.payload;
    let total = Math.max(event.bytes, data.length);
    this.#endedSkipped = false;
    if (this.#skip > 0) {
      const skipped = Math.min(this.#skip, total);
      this.#skip -= skipped;
      this.#endedSkipped = this.#skip === 0;
      data = data.subarray(Math.min(skipped, data.length));
      total -= skipped;
      if (total === 0) return [];
    }
    let first = event;
    if (this.#carry.length > 0) {
      const joined = new Uint8Array(this.#carry.length + data.length);
      joined.set(this.#carry);
      joined.set(data, this.#carry.length);
      first = this.#carryFirst ?? event;
      total += this.#carry.length;
      data = joined;
      this.#carry = new Uint8Array(0);
    }
    const frames: { frame: T; first: SocketEvent }[] = [];
    let pos = 0;
    while (pos < data.length) {
      let r = this.read(data.subarray(pos), total - pos);
      // A small frame whose rest is in the next syscall (not cut by the capture) waits for it, so
      // that it is read whole: a command written as header and body in two writes.
      if (typeof r === 'object' && r.length > data.length - pos && data.length === total && r.length <= MAX_CARRY) r = 'incomplete';
      if (r === 'invalid') {
        this.invalid++;
        return frames;
      }
      if (r === 'incomplete') {
        // Only a complete capture can be continued by the next syscall's bytes.
        if (data.length === total && data.length - pos <= MAX_CARRY) {
          this.#carry = data.slice(pos);
          this.#carryFirst = pos === 0 ? first : event;
        } else if (data.length === total) {
          this.invalid++;
        }
        return frames;
      }
      frames.push({ frame: r.frame, first: pos === 0 ? first : event });
      pos += Math.max(1, r.length);
    }
    if (pos > total) this.#skip = pos - total;
    return frames;
  }
}

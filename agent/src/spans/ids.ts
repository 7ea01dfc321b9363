// Trace and span ids as the API carries them: lowercase hex of 16 and 8 bytes.
import { randomFillSync } from 'node:crypto';

export function spanIdHex(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

// Ids are cut from one pool filled a few kilobytes at a time: a randomBytes call per id was a tenth
// of the agent's CPU per span.
const pool = Buffer.allocUnsafe(8192);
let used = pool.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (used + bytes > pool.length) {
      randomFillSync(pool);
      used = 0;
    }
    const start = used;
    used += bytes;
    // All zeros is the invalid id in W3C trace context.
    for (let i = start; i < used; i++) if (pool[i] !== 0) return pool.toString('hex', start, used);
  }
}

export const randomSpanId = (): string => randomHex(8);
export const randomTraceId = (): string => randomHex(16);

// Trace and span ids as the API carries them: lowercase hex of 16 and 8 bytes.
import { randomBytes } from 'node:crypto';

export function spanIdHex(id: bigint): string {
  return id.toString(16).padStart(16, '0');
}

function randomHex(bytes: number): string {
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    // All zeros is the invalid id in W3C trace context.
    if (!/^0+$/.test(hex)) return hex;
  }
}

export const randomSpanId = (): string => randomHex(8);
export const randomTraceId = (): string => randomHex(16);

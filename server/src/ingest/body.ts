// Request bodies of /ingest: Content-Encoding, multipart/form-data (the `profile` field), gzip.
import { native } from '../native.js';
import { IngestError } from './limits.js';

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

// gunzipLimited's output buffer, reused (a view of it is what callers get).
const KEPT_OUTPUT = 16 << 20;
let output = Buffer.allocUnsafeSlow(1 << 20);

/**
 * Gunzips with a ceiling on the output; truncated or corrupt input is a 400, too large a 413.
 * The result is a view of a buffer the next call overwrites: copy what must outlive it. The
 * buffer starts at the size the gzip trailer states (a hint only, held to 32x the input: a
 * client can write anything there) and doubles while the output does not fit.
 */
export function gunzipLimited(b: Uint8Array, maxBytes: number, what: string): Buffer {
  const stated = b.length >= 18 ? new DataView(b.buffer, b.byteOffset, b.length).getUint32(b.length - 4, true) : 0;
  const size = Math.min(maxBytes, Math.max(64 * 1024, Math.min(stated, 32 * b.length)));
  if (output.length < size || output.length > KEPT_OUTPUT) output = Buffer.allocUnsafeSlow(size);
  const addon = native(); // not built: a server error, not the client's
  for (;;) {
    const room = Math.min(output.length, maxBytes);
    let n: number;
    try {
      n = addon.gunzipInto(b, output.subarray(0, room));
    } catch (err) {
      throw new IngestError(400, `${what} is not valid gzip: ${(err as Error).message}`, 'bad_gzip');
    }
    if (n >= 0) return output.subarray(0, n);
    if (room >= maxBytes) throw new IngestError(413, `${what} decompresses to more than ${maxBytes} bytes (limit)`, 'too_large');
    output = Buffer.allocUnsafeSlow(Math.min(maxBytes, 2 * output.length));
  }
}

/** Removes the transport encoding (Content-Encoding) of a body. */
export function decodeContentEncoding(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  if (enc === 'gzip' || enc === 'x-gzip') return Buffer.from(gunzipLimited(body, maxBytes, 'the request body (Content-Encoding: gzip)'));
  throw new IngestError(415, `Content-Encoding ${JSON.stringify(encoding)} is not supported; send gzip or nothing`, 'bad_encoding');
}

/** The `profile` field of a multipart/form-data body (Pyroscope's SDKs send it this way). */
export function multipartProfile(body: Buffer, contentType: string): Buffer {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (boundary === undefined) throw new IngestError(400, 'multipart body without a boundary in Content-Type', 'bad_multipart');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { name: string; data: Buffer }[] = [];
  let pos = body.indexOf(delimiter);
  while (pos >= 0) {
    let start = pos + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // closing delimiter
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    const headerEnd = body.indexOf('\r\n\r\n', start);
    if (headerEnd < 0) break;
    const headers = body.subarray(start, headerEnd).toString('latin1');
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4);
    if (next < 0) throw new IngestError(400, 'multipart body is truncated (no closing boundary)', 'bad_multipart');
    const name = /name="([^"]*)"/i.exec(headers)?.[1] ?? '';
    parts.push({ name, data: body.subarray(headerEnd + 4, next) });
    pos = next + 2;
  }
  const profile = parts.find((p) => p.name === 'profile');
  if (profile === undefined) {
    throw new IngestError(
      400,
      `multipart body has no "profile" field (fields: ${parts.map((p) => JSON.stringify(p.name)).join(', ') || 'none'})`,
      'bad_multipart',
    );
  }
  return profile.data;
}

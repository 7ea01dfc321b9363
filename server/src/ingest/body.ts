// Request bodies of /ingest: Content-Encoding, multipart/form-data (the `profile` field), gzip.
import { gunzipSync } from 'node:zlib';
import { IngestError } from './limits.js';

export function isGzip(b: Uint8Array): boolean {
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/**
 * Gunzips with a ceiling on the output; truncated or corrupt input is a 400, too large a 413.
 * zlib writes into one buffer of the size the gzip trailer states (no chunks to join: 15% less
 * time); that size is only a hint, held to 32x the input, since a client can write anything there.
 */
export function gunzipLimited(b: Uint8Array, maxBytes: number, what: string): Buffer {
  const stated = b.length >= 18 ? new DataView(b.buffer, b.byteOffset, b.length).getUint32(b.length - 4, true) : 0;
  const chunkSize = Math.max(16 * 1024, Math.min(stated + 1, 32 * b.length, maxBytes + 1));
  try {
    return gunzipSync(b, { maxOutputLength: maxBytes, chunkSize });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new IngestError(413, `${what} decompresses to more than ${maxBytes} bytes (limit)`, 'too_large');
    }
    throw new IngestError(400, `${what} is not valid gzip: ${e.message}`, 'bad_gzip');
  }
}

/** Removes the transport encoding (Content-Encoding) of a body. */
export function decodeContentEncoding(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const enc = (encoding ?? '').trim().toLowerCase();
  if (enc === '' || enc === 'identity') return body;
  if (enc === 'gzip' || enc === 'x-gzip') return gunzipLimited(body, maxBytes, 'the request body (Content-Encoding: gzip)');
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
    throw new IngestError(400, `multipart body has no "profile" field (fields: ${parts.map((p) => JSON.stringify(p.name)).join(', ') || 'none'})`, 'bad_multipart');
  }
  return profile.data;
}

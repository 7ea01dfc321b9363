// The server's native addon (server/native): gzip decompression with libdeflate, TSV escaping of binary data.
import { createRequire } from 'node:module';

export interface NativeAddon {
  /** Decompresses gzip `input` (members one after another) into `output`: the bytes written, or -1 when they do not fit. Throws on bad data. */
  gunzipInto(input: Uint8Array, output: Uint8Array): number;
  /** Writes `input` into `output` from `at` as one TSV field (tab, newline, CR, backslash escaped): where it ended. Needs room for 2 × input. */
  tsvEscapeInto(input: Uint8Array, output: Uint8Array, at: number): number;
}

const addonPath = '../native/build/Release/kiln_server.node';
let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
    } catch (err) {
      throw new Error(
        `the server's native addon is not built (${(err as Error).message.split('\n')[0]}); run \`npm run build:native -w @kiln/server\``,
      );
    }
  }
  return addon;
}

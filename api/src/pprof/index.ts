// The pprof codec the agent (encode) and the server (decode) share.
export { encodeProfile } from './encode.js';
export {
  bytesHash,
  checkCurrent,
  decodeRawPprof,
  locationAddress,
  PprofError,
  SampleReader,
  stringOf,
  type RawMapping,
  type RawProfile,
  type RawValueType,
} from './decode.js';

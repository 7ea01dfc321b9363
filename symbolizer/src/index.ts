export { Symbolizer, type SymbolizerStats, type SymbolizerOptions } from './symbolizer.js';
export type { MappingInfo, UserFrames } from './user-frames.js';
export type { SymbolizerErrorKind } from './error-accounting.js';
export type { Frame } from './elf-cache.js';
export { Kallsyms, type KallsymsOptions } from './kallsyms.js';
export { PerfMap } from './perf-map.js';
export { parseProcMaps, parseNsPid, type ProcMapping } from './proc-maps.js';
export {
  native as symbolizerNative,
  type NativeAddon,
  type NativeElfFile,
  type NativeElfInfo,
  type NativeResolveResult,
} from './native.js';

// The symbolizer's native part (symbolizer/native): elfutils (libdwfl, libdw, libelf).
// It only moves bytes: open an ELF, report what it is, resolve batches of ELF virtual
// addresses. Caching, /proc, perf maps and kallsyms are policy and live in TypeScript.
import { createRequire } from 'node:module';

export interface NativeElfInfo {
  path: string;
  /** Lowercase hex of NT_GNU_BUILD_ID, '' if none. */
  buildId: string;
  elfType: number;
  machine: number;
  elfClass: number;
  size: number;
  dev: number;
  ino: number;
  mtimeMs: number;
  /** PT_LOAD segments, five numbers each: p_offset, p_vaddr, p_filesz, p_memsz, p_flags. */
  loads: Float64Array;
  /** `.gnu_debuglink` file name, '' if none. */
  debuglink: string;
  debuglinkCrc: number;
  hasDwarf: boolean;
  hasSymtab: boolean;
  hasDynsym: boolean;
  hasDebugdata: boolean;
  /** Segments or section headers point past the end of the file. */
  truncated: boolean;
}

/** Frames of a batch as struct of arrays: address i has counts[i] frames, innermost first. */
export interface NativeResolveResult {
  counts: Uint32Array;
  strings: string[];
  /** Index into strings, per frame. */
  names: Int32Array;
  /** Index into strings, -1 when unknown. */
  files: Int32Array;
  /** 0 when unknown. */
  lines: Int32Array;
  /** The function's declaration line (DW_AT_decl_line), 0 when unknown. */
  startLines: Int32Array;
  inlined: Uint8Array;
  /** The file could not be set up for lookups at all (every count is 0). */
  error?: string;
  /** DWARF is present but libdw could not read it; symbols still work. */
  warning?: string;
  /** Memory this file holds for lookups: the heap its setup allocated, plus DWZ alternate files copied into memory. */
  heldBytes: number;
}

export interface NativeElfFile {
  info(): NativeElfInfo;
  /** CRC-32 of the whole file, as `.gnu_debuglink` records it. */
  crc32(): number;
  /** Use `debug` (a separate debug file, already verified to match) for symbols and DWARF. */
  attachDebug(debug: NativeElfFile): void;
  /** Roots (e.g. `/proc/<pid>/root`, '') under which DWZ alternate files are looked up. */
  setAltRoots(roots: string[]): void;
  resolve(vaddrs: Float64Array): NativeResolveResult;
  /** The file's size or mtime differs from when it was opened. */
  changed(): boolean;
  /** Releases the libdwfl session and the file descriptors. */
  close(): void;
}

/** Text symbols of /proc/kallsyms, sorted by address, one per address. */
export interface NativeKallsyms {
  /** Address minus the base passed in (exact doubles). */
  keys: Float64Array;
  /** Name i is names[nameStart[i], nameStart[i] + nameLength[i]) (latin1). */
  names: Buffer;
  nameStart: Uint32Array;
  nameLength: Uint16Array;
  /** Index into modules; 0 is the core kernel (''). */
  moduleOf: Uint16Array;
  modules: string[];
  /** Every address was 0 (kptr_restrict). */
  restricted: boolean;
}

export interface NativeAddon {
  /** Opens `path` read-only (pread, never mmap). Throws an Error with `code` (errno name, ENOTELF, EBADELF). */
  ElfFile: new (path: string) => NativeElfFile;
  /** C++ (Itanium) and legacy Rust names, as `addr2line -C` shows them; others unchanged. */
  demangle(name: string): string;
  /** Reads and parses /proc/kallsyms; addresses below `base` are skipped. Throws an Error with `code`. */
  loadKallsyms(path: string, base: bigint): NativeKallsyms;
}

const addonPath = '../native/build/Release/kiln_symbolizer.node';
let addon: NativeAddon | undefined;

export function native(): NativeAddon {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)(addonPath) as NativeAddon;
    } catch (err) {
      throw new Error(
        `the symbolizer's native addon is not built (${(err as Error).message.split('\n')[0]}); run \`npm run build:native -w @kiln/symbolizer\``,
      );
    }
  }
  return addon;
}

/** The `code` of an error thrown by the addon or by node:fs, '' if none. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

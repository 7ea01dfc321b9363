// What symbolizeUser returns per address, and the counters every answer updates.
import type { Frame } from './elf-cache.js';
import type { SnapshotMapping } from './process-snapshots.js';

export interface MappingInfo {
  start: number;
  end: number;
  offset: number;
  path: string;
  /** hex, '' if none (or not known: anonymous memory, unreadable file) */
  buildId: string;
}

export interface UserFrames {
  mapping?: MappingInfo;
  /** Innermost first; the last one is the function the address is in; inlined frames before it have inlined: true. */
  frames: Frame[];
}

/** The frame counters of SymbolizerStats. */
export interface FrameCounts {
  cacheHits: number;
  cacheMisses: number;
  unknownFrames: number;
  resolvedFrames: number;
}

export function unknownFrame(name: string): Frame {
  return Object.freeze({ name, inlined: false });
}

/** "[unknown] name+0x<file offset>" inside a named mapping, "[unknown] 0x<addr>" elsewhere. */
export function unknownUserFrames(addr: number, m: SnapshotMapping | undefined, counts: FrameCounts): UserFrames {
  counts.unknownFrames++;
  if (m === undefined || m.raw.path === '') return { mapping: m?.info, frames: [unknownFrame(`[unknown] 0x${addr.toString(16)}`)] };
  const offset = addr - m.raw.start + m.raw.offset;
  return { mapping: m.info, frames: [unknownFrame(`[unknown] ${m.name}+0x${offset.toString(16)}`)] };
}

/** Frames resolved in an ELF file (shared with the frame cache, so copied); none is unknown. */
export function elfUserFrames(frames: readonly Frame[], addr: number, m: SnapshotMapping | undefined, counts: FrameCounts): UserFrames {
  if (frames.length === 0) return unknownUserFrames(addr, m, counts);
  counts.resolvedFrames++;
  return { mapping: m?.info, frames: frames.slice() };
}

/** A JIT function's name from a perf map; none is unknown. */
export function jitUserFrames(name: string | undefined, addr: number, m: SnapshotMapping | undefined, counts: FrameCounts): UserFrames {
  if (name === undefined) return unknownUserFrames(addr, m, counts);
  counts.resolvedFrames++;
  return { mapping: m?.info, frames: [Object.freeze({ name, inlined: false })] };
}

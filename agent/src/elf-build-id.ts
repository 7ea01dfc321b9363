import { closeSync, openSync, readSync } from 'node:fs';

const NT_GNU_BUILD_ID = 3;
const PT_NOTE = 4;

/** The GNU build-id of a 64-bit little-endian ELF file as hex, or '' when it has none or cannot be read. */
export function readBuildId(path: string): string {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const header = Buffer.alloc(64);
    if (readSync(fd, header, 0, 64, 0) < 64 || header.readUInt32BE(0) !== 0x7f454c46 || header[4] !== 2 || header[5] !== 1) return '';
    const phoff = Number(header.readBigUInt64LE(32));
    const phentsize = header.readUInt16LE(54);
    const phnum = header.readUInt16LE(56);
    const phdrs = Buffer.alloc(phentsize * phnum);
    readSync(fd, phdrs, 0, phdrs.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const ph = phdrs.subarray(i * phentsize);
      if (ph.readUInt32LE(0) !== PT_NOTE) continue;
      const notes = Buffer.alloc(Math.min(Number(ph.readBigUInt64LE(32)), 4096));
      readSync(fd, notes, 0, notes.length, Number(ph.readBigUInt64LE(8)));
      for (let o = 0; o + 12 <= notes.length; ) {
        const namesz = notes.readUInt32LE(o);
        const descsz = notes.readUInt32LE(o + 4);
        const type = notes.readUInt32LE(o + 8);
        const desc = o + 12 + align4(namesz);
        if (type === NT_GNU_BUILD_ID && notes.toString('latin1', o + 12, o + 12 + 3) === 'GNU') {
          return notes.subarray(desc, desc + descsz).toString('hex');
        }
        o = desc + align4(descsz);
      }
    }
    return '';
  } catch {
    return '';
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

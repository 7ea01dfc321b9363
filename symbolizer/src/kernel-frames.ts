// Kernel addresses → one frame each, from /proc/kallsyms.
import type { Frame } from './elf-cache.js';
import type { ErrorAccounting } from './error-accounting.js';
import type { Kallsyms } from './kallsyms.js';
import { unknownFrame, type FrameCounts } from './user-frames.js';

/** "name" or "name [module]" per address, "[unknown] 0x…" where kallsyms has none or cannot be read (tried once per batch). */
export function kernelFrames(kallsyms: Kallsyms, addresses: readonly bigint[], errors: ErrorAccounting, counts: FrameCounts): Frame[] {
  const out: Frame[] = [];
  let failed = false;
  for (const addr of addresses) {
    let name: string | undefined;
    if (!failed) {
      try {
        const loads = kallsyms.loads;
        name = kallsyms.lookup(addr);
        if (kallsyms.loads !== loads && kallsyms.restricted) errors.count('kallsyms-restricted', undefined);
      } catch (err) {
        failed = true;
        errors.count('kallsyms', err);
      }
    }
    if (name === undefined) {
      counts.unknownFrames++;
      out.push(unknownFrame(`[unknown] 0x${addr.toString(16)}`));
    } else {
      counts.resolvedFrames++;
      out.push(Object.freeze({ name, inlined: false }));
    }
  }
  return out;
}

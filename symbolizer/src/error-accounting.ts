// Failures counted by kind instead of thrown: the agent keeps profiling whatever cannot be
// symbolized, and the counts (stats().errorsByKind, the agent's metrics) say what went wrong.
import type { Logger } from 'pino';

/**
 * What `errorsByKind` counts:
 * - `process-gone`: the process exited before its /proc/<pid>/maps was read (it lived shorter than
 *   the agent's first look at it): routine under process churn, so logged at debug level only.
 * - `proc-unreadable`: /proc/<pid>/maps exists but could not be read (permission, …).
 * - `file-unreadable`: a mapped file could be opened neither through map_files nor through the process's root.
 * - `file-replaced`: the path now names another file than the one mapped (deleted, replaced, another mount namespace's view).
 * - `file-changed`: the file was modified in place after it was opened (size or mtime changed).
 * - `elf-invalid`: not an ELF file or a bad ELF header.
 * - `elf-truncated`: segments or section headers point past the end of the file.
 * - `elf-unusable`: libdwfl could not set the file up (no loadable segment, read errors).
 * - `dwarf`: DWARF present but unreadable (symbols are still used).
 * - `evicted`: the cached state was evicted and the process is gone, so it cannot be reopened.
 * - `kallsyms`, `kallsyms-restricted`: /proc/kallsyms unreadable, or its addresses hidden (kptr_restrict).
 * - `internal`: an unexpected exception (a bug); the whole batch became unknown.
 */
export type SymbolizerErrorKind =
  | 'process-gone'
  | 'proc-unreadable'
  | 'file-unreadable'
  | 'file-replaced'
  | 'file-changed'
  | 'elf-invalid'
  | 'elf-truncated'
  | 'elf-unusable'
  | 'dwarf'
  | 'evicted'
  | 'kallsyms'
  | 'kallsyms-restricted'
  | 'internal';

/** Bound on the failure ids remembered by countOnce: beyond it they are forgotten and may count again. */
export const MAX_FAILURE_IDS = 65_536;

export class ErrorAccounting {
  total = 0;
  readonly byKind: Record<string, number> = {};
  /**
   * Ids of failures already counted (a file's stat identity, or the mapping that could not be
   * opened), so that a broken file mapped by every process of a host counts once. Kept across
   * Symbolizer.close(): a file that failed is not retried while its identity is unchanged.
   */
  private readonly counted = new Set<string>();

  constructor(private readonly log: Logger | undefined) {}

  /** Counts one failure; the first of each kind is logged at warn level (process-gone: never), the rest at debug. */
  count(kind: SymbolizerErrorKind, err: unknown, detail?: Record<string, unknown>): void {
    this.total++;
    const first = this.byKind[kind] === undefined;
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    if (this.log !== undefined) {
      const msg = `symbolizer: ${kind}`;
      const fields = { kind, err, ...detail };
      if (first && kind !== 'process-gone') this.log.warn(fields, msg);
      else this.log.debug(fields, msg);
    }
  }

  /** Counts a failure unless one with the same id was counted already. */
  countOnce(id: string, kind: SymbolizerErrorKind, err: unknown, detail: Record<string, unknown>): void {
    if (this.counted.has(id)) return;
    if (this.counted.size >= MAX_FAILURE_IDS) this.counted.clear();
    this.counted.add(id);
    this.count(kind, err, detail);
  }

  /** A failure with this id was counted (and is still remembered). */
  hasCounted(id: string): boolean {
    return this.counted.has(id);
  }
}

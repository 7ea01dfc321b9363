// Kernel symbols from /proc/kallsyms: text symbols only, modules as "name [module]".
// Loaded on first use; reloaded (at most once per minReloadIntervalMs) when an address
// is not covered, which is what a module or BPF program loaded since then looks like.
import { readFileSync } from 'node:fs';

/** How far past a symbol an address may be when the next symbol belongs to another module. */
const MAX_TAIL = 0x10000n;
/** ... and when the next symbol is in the same module (or the core kernel). */
const MAX_GAP = 0x100000n;

export interface KallsymsOptions {
  minReloadIntervalMs?: number;
  now?: () => number;
}

export class Kallsyms {
  private addrs = new BigUint64Array(0);
  private names: string[] = [];
  private modules: string[] = [];
  private loadedAt = -Infinity;
  /** Every address read as 0: kptr_restrict hides them from us. */
  restricted = false;
  loads = 0;
  private readonly minReloadIntervalMs: number;
  private readonly now: () => number;

  constructor(
    readonly path: string,
    opts: KallsymsOptions = {},
  ) {
    this.minReloadIntervalMs = opts.minReloadIntervalMs ?? 10_000;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.names.length;
  }

  /** Reads the file now. Throws if it cannot be read. */
  load(): void {
    const text = readFileSync(this.path, 'utf8');
    this.loadedAt = this.now();
    this.loads++;
    const addrs: bigint[] = [];
    const names: string[] = [];
    const modules: string[] = [];
    let nonZero = false;
    for (const line of text.split('\n')) {
      // "ffffffff81000000 T _stext" or "ffffffffc0201000 t name\t[module]"
      const sp1 = line.indexOf(' ');
      const sp2 = line.indexOf(' ', sp1 + 1);
      if (sp1 <= 0 || sp2 !== sp1 + 2) continue;
      const type = line[sp1 + 1];
      if (type !== 't' && type !== 'T' && type !== 'w' && type !== 'W') continue;
      const rest = line.slice(sp2 + 1);
      const tab = rest.indexOf('\t');
      const name = tab < 0 ? rest : rest.slice(0, tab);
      const mod = tab < 0 ? '' : rest.slice(tab + 1).replace(/^\[|\]$/g, '');
      const addr = BigInt('0x' + line.slice(0, sp1));
      if (addr !== 0n) nonZero = true;
      addrs.push(addr);
      names.push(name);
      modules.push(mod);
    }
    this.restricted = addrs.length > 0 && !nonZero;
    const order = addrs.map((_, i) => i);
    order.sort((a, b) => {
      const x = addrs[a] ?? 0n;
      const y = addrs[b] ?? 0n;
      return x < y ? -1 : x > y ? 1 : a - b;
    });
    // One symbol per address: the first one listed (aliases such as _stext/_text share one).
    const sortedAddrs: bigint[] = [];
    this.names = [];
    this.modules = [];
    for (const i of order) {
      const a = addrs[i] ?? 0n;
      if (sortedAddrs.length > 0 && sortedAddrs[sortedAddrs.length - 1] === a) continue;
      sortedAddrs.push(a);
      this.names.push(names[i] ?? '');
      this.modules.push(modules[i] ?? '');
    }
    this.addrs = BigUint64Array.from(sortedAddrs);
  }

  /**
   * The symbol covering `addr` ("name" or "name [module]"), or undefined. Loads the file on
   * first use and reloads it when the address is not covered (rate-limited). Throws if the
   * file cannot be read.
   */
  lookup(addr: bigint): string | undefined {
    if (this.loads === 0) this.load();
    let found = this.find(addr);
    if (found === undefined && this.now() - this.loadedAt >= this.minReloadIntervalMs) {
      this.load();
      found = this.find(addr);
    }
    return found;
  }

  private find(addr: bigint): string | undefined {
    if (this.restricted) return undefined;
    const addrs = this.addrs;
    let lo = 0;
    let hi = addrs.length - 1;
    let i = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((addrs[mid] ?? 0n) <= addr) {
        i = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (i < 0) return undefined;
    const mod = this.modules[i] ?? '';
    const sameRegion = i + 1 < addrs.length && this.modules[i + 1] === mod;
    if (addr - (addrs[i] ?? 0n) >= (sameRegion ? MAX_GAP : MAX_TAIL)) return undefined;
    const name = this.names[i] ?? '';
    return mod === '' ? name : `${name} [${mod}]`;
  }
}

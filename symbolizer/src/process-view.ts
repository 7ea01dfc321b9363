// One symbolizeUser batch's view of a process: the mapping of each address, with at most one
// re-read of the maps per batch (a dlopen since the last read), and the process's perf maps.
import { PerfMap } from './perf-map.js';
import { rememberMissed, type ProcessSnapshots, type Snapshot, type SnapshotMapping } from './process-snapshots.js';

export class ProcessView {
  /** The maps were read in this batch, i.e. after every sample of the batch was taken. */
  private mapsReadThisBatch: boolean;
  private perfMapsRead = false;

  private constructor(
    private readonly snapshots: ProcessSnapshots,
    /** Replaced when the maps are re-read during the batch. */
    public snapshot: Snapshot,
    readInThisBatch: boolean,
  ) {
    this.mapsReadThisBatch = readInThisBatch;
  }

  /** The view for samples of `pid` in `generation`; undefined when there is no snapshot for them and none can be taken. */
  static forBatch(snapshots: ProcessSnapshots, pid: number, generation: number | undefined): ProcessView | undefined {
    const before = snapshots.get(pid);
    const snap = snapshots.forGeneration(pid, generation);
    return snap === undefined ? undefined : new ProcessView(snapshots, snap, snap !== before);
  }

  /**
   * The mapping containing `addr` (a binary search: mappings are sorted by start and do not
   * overlap). An address outside every executable mapping re-reads the maps once per batch, when
   * the snapshot is old enough; one still outside after a read is remembered so that it does not
   * cause reads in later batches.
   */
  locate(addr: number): SnapshotMapping | undefined {
    const mappings = this.snapshot.mappings;
    let lo = 0;
    let hi = mappings.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const m = mappings[mid];
      if (m === undefined) break;
      if (addr < m.raw.start) hi = mid - 1;
      else if (addr >= m.raw.end) lo = mid + 1;
      else if (m.raw.perms.includes('x')) return m;
      else return this.outsideExecutable(addr, m);
    }
    return this.outsideExecutable(addr, undefined);
  }

  /** `addr` is in `m` (not executable) or in no mapping of the snapshot. */
  private outsideExecutable(addr: number, m: SnapshotMapping | undefined): SnapshotMapping | undefined {
    const snap = this.snapshot;
    if (!this.mapsReadThisBatch && !snap.missed.has(addr) && this.snapshots.mayReread(snap)) {
      this.mapsReadThisBatch = true;
      this.snapshot = this.snapshots.reread(snap) ?? snap;
      return this.locate(addr);
    }
    if (this.mapsReadThisBatch) rememberMissed(snap, addr);
    return m;
  }

  /** The JIT function at `addr` from the process's perf maps; what was appended to them is read once per batch. */
  perfMapName(addr: number): string | undefined {
    const snap = this.snapshot;
    if (!this.perfMapsRead) {
      this.perfMapsRead = true;
      if (snap.perfMaps === undefined) {
        // A process names its perf map after the pid it sees (its own pid namespace's), in its own /tmp.
        const paths = new Set([`${snap.root}/tmp/perf-${snap.pid}.map`, `${snap.root}/tmp/perf-${snap.nspid}.map`]);
        snap.perfMaps = [...paths].map((p) => new PerfMap(p));
      }
      for (const pm of snap.perfMaps) pm.refresh();
    }
    for (const pm of snap.perfMaps ?? []) {
      const name = pm.lookup(addr);
      if (name !== undefined) return name;
    }
    return undefined;
  }
}

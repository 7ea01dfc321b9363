// Folded ("collapsed") stacks: `root;child;leaf N` per line. Each count is one sample worth
// 1/sampleRate seconds of CPU, stored as the `cpu` profile type in nanoseconds (as Pyroscope does).
import type { FunctionId } from '../catalog.js';
import { IngestError } from './limits.js';
import type { UploadBuilder } from './rows.js';

export const FOLDED_TYPES = [{ name: 'cpu', unit: 'nanoseconds' }];

/** Calls `line` with each line's frame names (root first; none for a line of only a count) and count. */
export function forEachFoldedLine(text: string, line: (names: string[], count: number) => void): void {
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const l = lines[n]!.trimEnd();
    if (l === '') continue;
    const space = l.lastIndexOf(' ');
    const count = space < 0 ? NaN : Number(l.slice(space + 1));
    if (!Number.isInteger(count) || count < 0) {
      throw new IngestError(400, `folded line ${n + 1} does not end with a sample count: ${JSON.stringify(l.slice(0, 200))}`, 'bad_folded');
    }
    const names = l.slice(0, space).split(';');
    line(names.length === 1 && names[0] === '' ? [] : names, count);
  }
}

/** Nanoseconds of CPU one folded sample stands for. */
export const foldedSampleNs = (sampleRate: number): number => 1e9 / sampleRate;

export function addFolded(text: string, b: UploadBuilder, baseLabels: ReadonlyMap<string, string>, sampleRate: number): void {
  const series = b.series(baseLabels);
  const ns = foldedSampleNs(sampleRate);
  forEachFoldedLine(text, (names, count) => {
    b.countSample();
    const leafFirst: FunctionId[] = [];
    for (let i = names.length - 1; i >= 0; i--) leafFirst.push(b.fnOf(names[i]!, '', ''));
    b.add(0, series, b.stack(leafFirst), count * ns);
  });
}

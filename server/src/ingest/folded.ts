// Folded ("collapsed") stacks: `root;child;leaf N` per line. Each count is one sample worth
// 1/sampleRate seconds of CPU, stored as the `cpu` profile type in nanoseconds (as Pyroscope does).
import type { FunctionId } from '../catalog.js';
import { IngestError } from './limits.js';
import type { UploadBuilder } from './rows.js';

export const FOLDED_TYPES = [{ name: 'cpu', unit: 'nanoseconds' }];

export function addFolded(text: string, b: UploadBuilder, baseLabels: ReadonlyMap<string, string>, sampleRate: number): void {
  const series = b.series(baseLabels);
  const nsPerSample = 1e9 / sampleRate;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trimEnd();
    if (line === '') continue;
    const space = line.lastIndexOf(' ');
    const count = space < 0 ? NaN : Number(line.slice(space + 1));
    if (!Number.isInteger(count) || count < 0) {
      throw new IngestError(400, `folded line ${n + 1} does not end with a sample count: ${JSON.stringify(line.slice(0, 200))}`, 'bad_folded');
    }
    b.countSample();
    const names = line.slice(0, space).split(';');
    const leafFirst: FunctionId[] = [];
    for (let i = names.length - 1; i >= 0; i--) {
      const name = names[i]!;
      if (name === '' && names.length === 1) break;
      leafFirst.push(b.fnOf(name, '', ''));
    }
    b.add(0, series, b.stack(leafFirst), count * nsPerSample);
  }
}

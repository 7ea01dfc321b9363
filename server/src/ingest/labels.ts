// Pyroscope's application name (`app{k=v,...}`) and label validation.
import { IngestError, type IngestLimits } from './limits.js';

export const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** Labels that are columns of the samples table, not series labels. */
export const SPAN_LABELS = new Set(['span_id', 'trace_id']);

/**
 * Parses Pyroscope's `name` parameter: `APP` or `APP{k=v,k2=v2}` (values may be quoted with `"`).
 * APP becomes the `service` label.
 */
export function parseAppName(raw: string): Map<string, string> {
  const labels = new Map<string, string>();
  const brace = raw.indexOf('{');
  const app = (brace < 0 ? raw : raw.slice(0, brace)).trim();
  if (app === '') throw new IngestError(400, 'name must start with the application name, e.g. name=checkout{env=prod}', 'bad_name');
  labels.set('service', app);
  if (brace < 0) return labels;
  if (!raw.endsWith('}')) throw new IngestError(400, `name ${JSON.stringify(raw)} has a '{' without a closing '}'`, 'bad_name');
  const body = raw.slice(brace + 1, -1);
  let i = 0;
  while (i < body.length) {
    while (body[i] === ',' || body[i] === ' ') i++;
    if (i >= body.length) break;
    const eq = body.indexOf('=', i);
    if (eq < 0)
      throw new IngestError(400, `name ${JSON.stringify(raw)}: label without '=' at ${JSON.stringify(body.slice(i))}`, 'bad_name');
    const key = body.slice(i, eq).trim();
    let value: string;
    i = eq + 1;
    if (body[i] === '"') {
      let v = '';
      i++;
      for (; i < body.length && body[i] !== '"'; i++) {
        if (body[i] === '\\' && i + 1 < body.length) i++;
        v += body[i];
      }
      if (body[i] !== '"') throw new IngestError(400, `name ${JSON.stringify(raw)}: unterminated quoted value`, 'bad_name');
      i++;
      value = v;
    } else {
      const comma = body.indexOf(',', i);
      const end = comma < 0 ? body.length : comma;
      value = body.slice(i, end).trim();
      i = end;
    }
    if (!LABEL_NAME.test(key))
      throw new IngestError(400, `name ${JSON.stringify(raw)}: ${JSON.stringify(key)} is not a valid label name`, 'bad_name');
    if (key === '__name__') continue;
    labels.set(key, value);
  }
  return labels;
}

/** Pprof label keys may hold any character; series label names must be selector identifiers. */
export function sanitizeLabelName(name: string): string {
  if (LABEL_NAME.test(name)) return name;
  const s = name.replace(/[^A-Za-z0-9_.]/g, '_');
  return /^[A-Za-z_]/.test(s) ? s : `_${s}`;
}

export function checkLabels(labels: ReadonlyMap<string, string>, limits: IngestLimits): void {
  if (labels.size > limits.maxLabelsPerSeries) {
    throw new IngestError(400, `a series has ${labels.size} labels, over the limit of ${limits.maxLabelsPerSeries}`, 'too_many_labels');
  }
  for (const [k, v] of labels) {
    if (k.length > limits.maxLabelNameLength) {
      throw new IngestError(
        400,
        `label name ${JSON.stringify(k.slice(0, 64))}… is longer than ${limits.maxLabelNameLength} characters`,
        'label_too_long',
      );
    }
    if (v.length > limits.maxLabelValueLength) {
      throw new IngestError(
        400,
        `value of label ${JSON.stringify(k)} is longer than ${limits.maxLabelValueLength} characters`,
        'label_too_long',
      );
    }
  }
}

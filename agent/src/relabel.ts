// Relabel rules from the agent's config (`--relabel FILE`): which of a process's labels its
// profiles, spans and signals carry, and under which names. Prometheus' labelmap / labeldrop /
// labelkeep by exact name, no regular expressions:
//   { "rename": { "container_id": "container" }, "drop": ["exe"], "keep": ["service", "version", "container"] }
// Applied in that order: renames first, then `drop` and `keep` name labels as renamed. Rules are
// checked when the agent starts, so a mistake stops it with a message instead of labelling a
// fleet's profiles wrongly.
import { readFileSync } from 'node:fs';

export type Labels = ReadonlyArray<readonly [string, string]>;

/** A process's labels as its profiles, spans and signals carry them. */
export type Relabel = (labels: Labels) => Labels;

export class RelabelError extends Error {
  override name = 'RelabelError';
}

/** The server's series label names (server/src/ingest/labels.ts): a rule cannot make a name it would refuse. */
const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** Not a process's labels: they tie CPU samples to their span, and the server stores them as columns. */
const SPAN_LABELS = new Set(['span_id', 'trace_id']);

const FIELDS = ['rename', 'drop', 'keep'];

/**
 * Rules from a parsed config, validated: an object with any of `rename` (name → new name), `drop`
 * and `keep` (lists of names). `service` names every series, so no rule may remove it.
 */
export function relabelRules(config: unknown): Relabel {
  if (typeof config !== 'object' || config === null || Array.isArray(config))
    throw new RelabelError(`relabel rules must be a JSON object with any of ${FIELDS.join(', ')}`);
  const fields = config as Record<string, unknown>;
  for (const field of Object.keys(fields))
    if (!FIELDS.includes(field)) throw new RelabelError(`unknown relabel field "${field}" (expected ${FIELDS.join(', ')})`);

  const rename = renames(fields.rename);
  const drop = names('drop', fields.drop);
  const keep = fields.keep === undefined ? undefined : names('keep', fields.keep);
  if (rename.has('service')) throw new RelabelError('rename: "service" cannot be renamed: every series is named by it');
  if (drop.has('service')) throw new RelabelError('drop: "service" cannot be dropped: every series is named by it');
  if (keep !== undefined && !keep.has('service'))
    throw new RelabelError('keep must list "service": every series is named by it, and keep drops what it does not list');
  for (const name of drop) if (keep?.has(name)) throw new RelabelError(`"${name}" is both kept and dropped`);

  // A renamed label takes the place of one already bearing its new name (Prometheus' labelmap does
  // the same): the user asked for the renamed one under that name.
  const sourceOf = new Map([...rename].map(([from, to]) => [to, from]));
  return (labels) => {
    const present = new Set(labels.filter(([, v]) => v !== '').map(([k]) => k));
    const out: [string, string][] = [];
    for (const [k, v] of labels) {
      // An empty value is no label (the pprof builder and the span and signal batches leave it out).
      if (v === '') continue;
      const to = rename.get(k);
      const replacedBy = sourceOf.get(k);
      if (to === undefined && replacedBy !== undefined && present.has(replacedBy)) continue;
      const name = to ?? k;
      if (!drop.has(name) && (keep === undefined || keep.has(name))) out.push([name, v]);
    }
    return out;
  };
}

/** Rules from a JSON file; errors name the file. */
export function readRelabelFile(path: string): Relabel {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RelabelError(`cannot read relabel rules: ${(err as Error).message}`);
  }
  try {
    return relabelRules(JSON.parse(text));
  } catch (err) {
    throw new RelabelError(`${path}: ${(err as Error).message}`);
  }
}

function labelName(field: string, name: unknown): string {
  if (typeof name !== 'string' || !LABEL_NAME.test(name))
    throw new RelabelError(
      `${field}: ${JSON.stringify(name)} is not a label name (letters, digits, '_' and '.', not starting with a digit)`,
    );
  if (SPAN_LABELS.has(name)) throw new RelabelError(`${field}: "${name}" ties CPU samples to their span; no rule changes it`);
  return name;
}

function names(field: string, list: unknown): Set<string> {
  if (list === undefined) return new Set();
  if (!Array.isArray(list)) throw new RelabelError(`${field} must be a list of label names`);
  return new Set(list.map((name) => labelName(field, name)));
}

function renames(map: unknown): Map<string, string> {
  if (map === undefined) return new Map();
  if (typeof map !== 'object' || map === null || Array.isArray(map))
    throw new RelabelError('rename must be an object of label names to new names, e.g. {"container_id": "container"}');
  const out = new Map<string, string>();
  const targets = new Set<string>();
  for (const [rawFrom, rawTo] of Object.entries(map)) {
    const from = labelName('rename', rawFrom);
    const to = labelName(`rename ${from}`, rawTo);
    if (targets.has(to)) throw new RelabelError(`rename: two labels are renamed to "${to}"`);
    targets.add(to);
    out.set(from, to);
  }
  return out;
}

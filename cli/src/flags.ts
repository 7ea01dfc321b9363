// Declarative flags: each flag also reads KILN_<FLAG_IN_CAPS> from the environment, and
// `--help` is generated from the same table, so the two can never drift apart.
import { parseArgs } from 'node:util';
import { parseDuration } from './duration.js';

export type FlagType = 'string' | 'integer' | 'boolean' | 'duration' | 'size' | 'list';

export interface FlagSpec {
  type: FlagType;
  help: string;
  default?: string | number | boolean | string[];
  /** Shown in --help after the flag name, e.g. PORT. */
  value?: string;
  min?: number;
  max?: number;
  /** The only values a string flag takes. */
  choices?: readonly string[];
}

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export class UsageError extends Error {}

export function envName(flag: string): string {
  return `KILN_${flag.replace(/-/g, '_').toUpperCase()}`;
}

function convert(flag: string, spec: FlagSpec, raw: string): string | number | boolean {
  switch (spec.type) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw)) throw new UsageError(`--${flag} must be an integer, got "${raw}"`);
      const n = Number(raw);
      if ((spec.min !== undefined && n < spec.min) || (spec.max !== undefined && n > spec.max)) {
        throw new UsageError(`--${flag} must be between ${spec.min ?? '-∞'} and ${spec.max ?? '∞'}, got ${n}`);
      }
      return n;
    }
    case 'duration':
      try {
        return parseDuration(raw);
      } catch (err) {
        throw new UsageError(`--${flag}: ${(err as Error).message}`);
      }
    case 'size': {
      const m = /^(\d+)\s*(b|kib|kb|k|mib|mb|m|gib|gb|g)?$/i.exec(raw.trim());
      if (m === null) throw new UsageError(`--${flag} must be a size like 512KiB, 16MiB, 1GiB or a byte count, got "${raw}"`);
      const unit = (m[2] ?? 'b').toLowerCase()[0] ?? 'b';
      return Number(m[1]) * ({ b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[unit] ?? 1);
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off|)$/i.test(raw)) return false;
      throw new UsageError(`${envName(flag)} must be true or false, got "${raw}"`);
    default:
      if (spec.choices !== undefined && !spec.choices.includes(raw)) {
        throw new UsageError(`--${flag} must be one of ${spec.choices.join(', ')}, got "${raw}"`);
      }
      return raw;
  }
}

/** Parses argv, then fills unset flags from the environment, then from defaults. */
export function parseFlags(specs: FlagSpecs, argv: string[], env: NodeJS.ProcessEnv): { values: FlagValues; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; multiple?: boolean }> = { help: { type: 'boolean' } };
  for (const [name, spec] of Object.entries(specs)) {
    options[name] = spec.type === 'boolean' ? { type: 'boolean' } : { type: 'string', multiple: spec.type === 'list' };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify.*$/s, ''));
  }
  const values: FlagValues = {};
  for (const [name, spec] of Object.entries(specs)) {
    const given = parsed.values[name];
    const fromEnv = env[envName(name)];
    if (spec.type === 'list') {
      const items = Array.isArray(given) ? given.map(String) : fromEnv !== undefined && fromEnv !== '' ? fromEnv.split(',') : undefined;
      values[name] = items ?? (Array.isArray(spec.default) ? spec.default : []);
      continue;
    }
    if (given !== undefined) {
      values[name] = spec.type === 'boolean' ? Boolean(given) : convert(name, spec, String(given));
    } else if (fromEnv !== undefined) {
      values[name] = convert(name, spec, fromEnv);
    } else if (spec.default !== undefined) {
      values[name] = typeof spec.default === 'string' && spec.type !== 'string' ? convert(name, spec, spec.default) : spec.default;
    }
  }
  return { values, help: parsed.values.help === true };
}

export function formatHelp(usage: string, summary: string, specs: FlagSpecs): string {
  const rows: [string, string][] = Object.entries(specs).map(([name, spec]) => {
    const left = `  --${name}${spec.type === 'boolean' ? '' : ` ${spec.value ?? spec.type.toUpperCase()}`}`;
    const def =
      spec.default === undefined || (Array.isArray(spec.default) && spec.default.length === 0) ? '' : ` (default ${String(spec.default)})`;
    const choices = spec.choices === undefined ? '' : ` (${spec.choices.join(', ')})`;
    return [left, `${spec.help}${choices}${def} [${envName(name)}]`];
  });
  rows.push(['  --help', 'show this help']);
  const width = Math.max(...rows.map(([l]) => l.length)) + 2;
  return `${usage}\n\n${summary}\n\nOptions:\n${rows.map(([l, r]) => l.padEnd(width) + r).join('\n')}\n`;
}

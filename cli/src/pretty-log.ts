// Log lines for a person: `12:04:05.123 INFO  agent: message key=value …`, an error's stack
// indented under its line. pino hands every record over as one JSON line; this prints it again.
// process.stdout writes synchronously to a terminal, a file or a pipe on Linux, so nothing is
// held back at exit.

const LEVELS = new Map<number, { name: string; color: string }>([
  [10, { name: 'TRACE', color: '\x1b[90m' }],
  [20, { name: 'DEBUG', color: '\x1b[36m' }],
  [30, { name: 'INFO ', color: '\x1b[32m' }],
  [40, { name: 'WARN ', color: '\x1b[33m' }],
  [50, { name: 'ERROR', color: '\x1b[31m' }],
  [60, { name: 'FATAL', color: '\x1b[41m' }],
]);
const RESET = '\x1b[0m';
const DIM = '\x1b[2m';

// Printed in their own place, or (cmd) the same on every line: the command the user just typed.
const NOT_FIELDS = new Set(['level', 'time', 'msg', 'component', 'cmd']);

/** A pino destination that prints each record with `formatRecord`. */
export class PrettyLogStream {
  readonly #out: NodeJS.WritableStream;
  readonly #color: boolean;

  constructor(out: NodeJS.WritableStream, color: boolean) {
    this.#out = out;
    this.#color = color;
  }

  write(line: string): void {
    this.#out.write(formatRecord(JSON.parse(line) as Record<string, unknown>, this.#color));
  }
}

export function formatRecord(record: Record<string, unknown>, color: boolean): string {
  const level = LEVELS.get(Number(record.level)) ?? { name: String(record.level).padEnd(5), color: '' };
  const time = formatTime(new Date(Number(record.time)));
  let line = color ? `${DIM}${time}${RESET} ${level.color}${level.name}${RESET}` : `${time} ${level.name}`;
  if (typeof record.component === 'string') line += ` ${record.component}:`;
  if (typeof record.msg === 'string') line += ` ${record.msg}`;
  let stack = '';
  for (const [key, value] of Object.entries(record)) {
    if (NOT_FIELDS.has(key) || value === undefined) continue;
    const stackText = key === 'err' || key === 'error' ? stackOf(value) : undefined;
    if (stackText !== undefined) {
      stack += `\n${stackText.replace(/^/gm, '    ')}`;
      continue;
    }
    line += color ? ` ${DIM}${key}=${RESET}${formatValue(value)}` : ` ${key}=${formatValue(value)}`;
  }
  return `${line}${stack}\n`;
}

/** What pino's error serializer made of an Error: its stack (which starts with its message). */
function stackOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { stack } = value as { stack?: unknown };
  return typeof stack === 'string' ? stack : undefined;
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  return JSON.stringify(value) ?? String(value);
}

function formatTime(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

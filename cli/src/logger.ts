// The logger of one kiln command: one JSON object a line for machines (log collectors, tests), or
// lines for a person when stdout is a terminal.
import { pino, type Logger } from 'pino';
import type { FlagValues } from './flags.js';

export async function createLogger(values: FlagValues, command: string): Promise<Logger> {
  const options = { level: (values['log-level'] as string | undefined) ?? 'info', base: { cmd: command } };
  const format = (values['log-format'] as string | undefined) ?? (process.stdout.isTTY ? 'pretty' : 'json');
  if (format === 'json') return pino(options);
  // Loaded only when used: the agent's start-up CPU is benchmarked with JSON logs.
  const { PrettyLogStream } = await import('./pretty-log.js');
  return pino(options, new PrettyLogStream(process.stdout, process.stdout.isTTY && process.stdout.hasColors()));
}

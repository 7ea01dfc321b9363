import type { Logger } from 'pino';
import type { FlagSpecs, FlagValues } from './flags.js';

export interface Command {
  name: string;
  summary: string;
  flags: FlagSpecs;
  run(values: FlagValues, log: Logger): Promise<number>;
}

export const logFlags: FlagSpecs = {
  'log-level': {
    type: 'string',
    value: 'LEVEL',
    default: 'info',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
    help: 'least severe log level printed',
  },
  'log-format': {
    type: 'string',
    value: 'FORMAT',
    choices: ['pretty', 'json'],
    help: 'log lines for people or one JSON object a line for machines (default: pretty when stdout is a terminal, else json)',
  },
};

import type { Logger } from 'pino';
import type { FlagSpecs, FlagValues } from './flags.js';

export interface Command {
  name: string;
  summary: string;
  flags: FlagSpecs;
  run(values: FlagValues, log: Logger): Promise<number>;
}

export const logLevelFlag: FlagSpecs = {
  'log-level': { type: 'string', value: 'LEVEL', default: 'info', help: 'pino log level: trace, debug, info, warn, error' },
};

import type { Command } from './command.js';
import { agentCommand } from './commands/agent.js';
import { doctorCommand } from './commands/doctor.js';
import { serverCommand } from './commands/server.js';
import { upCommand } from './commands/up.js';
import { formatHelp, parseFlags, UsageError } from './flags.js';
import { createLogger } from './logger.js';

const commands: Command[] = [upCommand, serverCommand, agentCommand, doctorCommand];

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 4;
  return [
    'Usage: kiln <command> [options]',
    '',
    'Kiln: continuous profiling and flame graphs for Linux and Kubernetes.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Run `kiln <command> --help` for the options of one command. Every option also reads KILN_<OPTION> from the environment.',
    '',
  ].join('\n');
}

/** Runs one CLI invocation and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(topHelp());
    return name === undefined ? 2 : 0;
  }
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    process.stderr.write(`kiln: unknown command "${name}"\n\n${topHelp()}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseFlags(command.flags, rest, process.env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`kiln ${command.name}: ${err.message}\nRun \`kiln ${command.name} --help\` for usage.\n`);
    return 2;
  }
  if (parsed.help) {
    process.stdout.write(formatHelp(`Usage: kiln ${command.name} [options]`, command.summary, command.flags));
    return 0;
  }
  const log = await createLogger(parsed.values, command.name);
  try {
    return await command.run(parsed.values, log);
  } catch (err) {
    if (err instanceof UsageError || (err instanceof Error && /^(Kiln)?UsageError$|^AgentStartError$/.test(err.name))) {
      log.error(err.message);
      process.stderr.write(`kiln ${command.name}: ${err.message}\n`);
      return 1;
    }
    log.fatal({ err }, 'kiln failed');
    return 1;
  }
}

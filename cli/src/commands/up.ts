import type { RunningAgent } from '@kiln/agent';
import type { Command } from '../command.js';
import { logFlags } from '../command.js';
import { untilSignal } from '../shutdown.js';
import { agentFlags, defaultMetricsPort } from './agent.js';
import { serverFlags, serverOptions } from './server.js';

export const upCommand: Command = {
  name: 'up',
  summary: 'All-in-one: the server on embedded storage, the agent on this host and the UI; prints the UI URL.',
  flags: {
    port: serverFlags.port!,
    data: serverFlags.data!,
    frequency: agentFlags.frequency!,
    'no-spans': agentFlags['no-spans']!,
    'no-signals': agentFlags['no-signals']!,
    'metrics-port': {
      ...agentFlags['metrics-port']!,
      help: `serve the agent's Prometheus /metrics on this port (default ${defaultMetricsPort}; 0: off)`,
    },
    ...logFlags,
  },
  async run(values, log) {
    const [{ startAgent }, { startServer }] = await Promise.all([import('@kiln/agent'), import('@kiln/server')]);
    const server = await startServer({ ...serverOptions({ ...values, host: '0.0.0.0', retention: 7 * 86_400_000 }), logger: log });
    let agent: RunningAgent | undefined;
    try {
      agent = await startAgent({
        server: `http://127.0.0.1:${values.port as number}`,
        frequency: values.frequency as number,
        intervalMs: 10_000,
        pids: [],
        includeIdle: false,
        spans: values['no-spans'] !== true,
        spanPids: [],
        spanCgroups: [],
        spanPayloadBytes: 256,
        signals: values['no-signals'] !== true,
        metricsPort: (values['metrics-port'] as number | undefined) ?? defaultMetricsPort,
        logger: log.child({ component: 'agent' }),
      });
    } catch (err) {
      // The UI and the API stay useful without a local agent (SDKs and remote agents can push).
      log.warn({ err: (err as Error).message }, 'the agent did not start on this host; the server runs without it');
      process.stderr.write(`kiln up: the agent did not start: ${(err as Error).message}\n`);
    }
    process.stdout.write(`\nKiln is up: open ${server.url}\n\n`);
    log.info({ url: server.url, agent: agent !== undefined }, 'kiln is up');
    return untilSignal(log, async () => {
      await agent?.stop();
      await server.close();
    });
  },
};

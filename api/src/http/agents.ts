// Agents' health: each agent reports its figures once per interval (POST /api/v1/agents/report);
// GET /api/v1/agents answers each node's latest report in a time range.
import { Type, type Static } from 'typebox';

const Count = (description: string) => Type.Integer({ minimum: 0, description });

// The counters run from the agent's start (startedAt), not per interval: a report that never
// arrives loses nothing, the next one carries the same totals and more.
const AgentFigures = {
  node: Type.String({ minLength: 1, maxLength: 256, description: 'the node label of its samples (kiln agent --node; default: hostname)' }),
  version: Type.String({ maxLength: 64, description: 'the agent version' }),
  startedAt: Type.Integer({ minimum: 0, description: 'unix ms the agent started; the counts below run from then' }),
  intervalMs: Type.Integer({ minimum: 1, description: 'how often it sends a profile and this report' }),
  samples: Count('CPU samples taken by the kernel sampler'),
  samplesLost: Count('samples, stacks and process events lost in the kernel, all reasons summed'),
  processesTracked: Count('processes the agent holds labels and memory maps for, now'),
  profilesDropped: Count('interval profiles dropped because the server was unreachable for too long'),
};

/** The body of POST /api/v1/agents/report. Newer agents may send more fields: they are ignored. */
export const AgentReport = Type.Object(AgentFigures);
export type AgentReport = Static<typeof AgentReport>;

export const AgentStatus = Type.Object({
  ...AgentFigures,
  lastSeen: Type.Integer({ description: 'unix ms the server received the latest report (the server clock, not the agent one)' }),
});
export type AgentStatus = Static<typeof AgentStatus>;

export const AgentsResponse = Type.Object({
  agents: Type.Array(AgentStatus, { description: 'one per node that reported in the range: its latest report, sorted by node' }),
});
export type AgentsResponse = Static<typeof AgentsResponse>;

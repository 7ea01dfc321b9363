// POST /api/v1/ingest/signals: the kernel signals the agent measures (throttling, run-queue delay,
// TCP retransmits), as msgpack batches.
import { AgentSignalBatchResponse } from '@kiln/api/http';
import { decodeAgentSignals } from '../ingest/agent-signals.js';
import { storeSignals } from '../query/signals.js';
import { agentBatchRoute } from './agent-batch.js';

export const signalIngestRoutes = agentBatchRoute({
  path: '/api/v1/ingest/signals',
  summary: 'Store kernel signals the agent measured: cgroup waits, long waits, cpu.stat counters, TCP retransmits',
  description:
    'Body: an AgentSignalBatch (`{ waits, episodes, cpuStats, retransmits }`, see the schema in @kiln/api/http/signals) as ' +
    'msgpack, Content-Type application/msgpack or application/x-msgpack; Content-Encoding: gzip is accepted. Each record is ' +
    'checked on its own: records with invalid kinds, times or values are counted in `rejected` (the reason of the first in ' +
    '`rejectReason`) and the others stored. 200 only after they are stored; a body that is not a batch is a 400.',
  response: AgentSignalBatchResponse,
  record: 'signal record',
  batch: 'a signal batch',
  metrics: {
    records: 'kiln_agent_signal_records_total',
    recordsHelp: 'Signal records received from agents on /api/v1/ingest/signals: accepted (stored) or rejected (invalid values).',
    requests: 'kiln_agent_signal_requests_rejected_total',
    requestsHelp: 'Requests on /api/v1/ingest/signals refused whole, by reason.',
  },
  decode: decodeAgentSignals,
  store: storeSignals,
});

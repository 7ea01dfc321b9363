// POST /api/v1/ingest/spans: the spans the agent captures in the kernel, as msgpack batches.
import { AgentSpanBatchResponse } from '@kiln/api/http';
import { decodeAgentSpans } from '../ingest/agent-spans.js';
import { storeSpans } from '../query/traces.js';
import { agentBatchRoute } from './agent-batch.js';

export const spanIngestRoutes = agentBatchRoute({
  path: '/api/v1/ingest/spans',
  summary: 'Store spans the agent captured in the kernel',
  description:
    'Body: an AgentSpanBatch (`{ spans: AgentSpan[] }`, see the schema in @kiln/api/http/spans) as msgpack, Content-Type ' +
    'application/msgpack or application/x-msgpack; Content-Encoding: gzip is accepted. Each span is checked on its own: ' +
    'spans with invalid ids, times, kind, status or breakdown are counted in `rejected` (the reason of the first in ' +
    '`rejectReason`) and the others stored. 200 only after they are stored; a body that is not a batch is a 400.',
  response: AgentSpanBatchResponse,
  record: 'span',
  batch: 'a span batch',
  metrics: {
    records: 'kiln_agent_spans_total',
    recordsHelp: 'Spans received from agents on /api/v1/ingest/spans: accepted (stored) or rejected (invalid ids, times or values).',
    requests: 'kiln_agent_span_requests_rejected_total',
    requestsHelp: 'Requests on /api/v1/ingest/spans refused whole, by reason.',
  },
  decode: decodeAgentSpans,
  store: storeSpans,
});

// Agents' health: their reports in, each node's latest one out.
import { AgentReport, AgentsResponse, ErrorBody, TimeRangeQuery } from '@kiln/api/http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { latestAgentReports, storeAgentReport } from '../query/agents.js';
import { parseRange } from '../query/time.js';

/** A report is a few hundred bytes; anything near this is not one. */
const REPORT_MAX_BYTES = 16 * 1024;

export const agentRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/api/v1/agents/report',
    {
      bodyLimit: REPORT_MAX_BYTES,
      schema: {
        summary: "Store an agent's health report (its figures since it started)",
        description: 'The agent sends one per interval, with its profile. 204 only after the report is stored.',
        tags: ['ingest'],
        body: AgentReport,
        response: { 204: Type.Null(), 400: ErrorBody, 413: ErrorBody, 415: ErrorBody },
      },
    },
    async (request, reply) => {
      await storeAgentReport(app.clickhouse, request.body, Date.now());
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/v1/agents',
    {
      schema: {
        summary: 'Nodes whose agent reported in the range, each with its latest report and when it arrived',
        tags: ['ops'],
        querystring: TimeRangeQuery,
        response: { 200: AgentsResponse, 400: ErrorBody },
      },
    },
    async (request) => {
      const range = parseRange(request.query.from, request.query.until);
      return { agents: await latestAgentReports(app.clickhouse, range) };
    },
  );
};

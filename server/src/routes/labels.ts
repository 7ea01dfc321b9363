// Profile types, label names and label values.
import {
  ErrorBody,
  LabelsResponse,
  LabelValuesParams,
  LabelValuesResponse,
  ProfileTypesResponse,
  SelectionQuery,
  TimeRangeQuery,
} from '@kiln/api/http';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { labelNames, labelValues, profileTypes } from '../query/labels.js';
import { parseRange } from '../query/time.js';
import { checkLabelName, optionalSelector, type QueryContext } from './query.js';

const errors = { 400: ErrorBody };

export const labelRoutes: FastifyPluginAsyncTypebox<QueryContext> = async (app, { engine, timed }) => {
  app.get(
    '/api/v1/profile-types',
    {
      schema: {
        summary: 'Profile types present in the range',
        tags: ['query'],
        querystring: TimeRangeQuery,
        response: { 200: ProfileTypesResponse, ...errors },
      },
    },
    async (request) => {
      const range = parseRange(request.query.from, request.query.until);
      return timed('profile-types', async () => ({ profileTypes: await profileTypes(engine, range) }));
    },
  );

  app.get(
    '/api/v1/labels',
    {
      schema: {
        summary: 'Label names in the range (of the selection when query is given)',
        tags: ['query'],
        querystring: SelectionQuery,
        response: { 200: LabelsResponse, ...errors },
      },
    },
    async (request) => {
      const q = request.query;
      const range = parseRange(q.from, q.until);
      const sel = optionalSelector(q.query);
      return timed('labels', async () => ({ names: await labelNames(engine, sel, range) }));
    },
  );

  app.get(
    '/api/v1/labels/:name/values',
    {
      schema: {
        summary: 'Values of one label in the range (of the selection when query is given)',
        tags: ['query'],
        params: LabelValuesParams,
        querystring: SelectionQuery,
        response: { 200: LabelValuesResponse, ...errors },
      },
    },
    async (request) => {
      const q = request.query;
      const name = checkLabelName(request.params.name, 'label name');
      const range = parseRange(q.from, q.until);
      const sel = optionalSelector(q.query);
      return timed('label-values', async () => ({ name, values: await labelValues(engine, name, sel, range) }));
    },
  );
};

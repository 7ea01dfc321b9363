// Profile types, label names and label values.
import {
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
import { checkLabelName, optionalSelector, querySchema, type QueryContext } from './query.js';

export const labelRoutes: FastifyPluginAsyncTypebox<QueryContext> = async (app, { engine, timed }) => {
  app.get(
    '/api/v1/profile-types',
    { schema: querySchema('Profile types present in the range', TimeRangeQuery, ProfileTypesResponse) },
    async (request) => {
      const range = parseRange(request.query.from, request.query.until);
      return timed('profile-types', async () => ({ profileTypes: await profileTypes(engine, range) }));
    },
  );

  app.get(
    '/api/v1/labels',
    { schema: querySchema('Label names in the range (of the selection when query is given)', SelectionQuery, LabelsResponse) },
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
        ...querySchema('Values of one label in the range (of the selection when query is given)', SelectionQuery, LabelValuesResponse),
        params: LabelValuesParams,
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

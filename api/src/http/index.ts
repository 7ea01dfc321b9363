// Request and response schemas of the HTTP API (shared/API.md), with their TypeScript types.
export * from './common.js';

// The flamebearer: its schema and types, the server's encoder (stacks → levels) and the UI's decoder.
export * from './schema.js';
export * from './encode.js';
export * from './decode.js';

import { readFileSync } from 'node:fs';

// Read at runtime so the version never drifts from server/package.json (dist/ sits next to it).
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export const version: string = pkg.version;

#!/usr/bin/env node
// Fails when two workspaces ask for different versions of the same dependency: one version of
// each shared package, so a fix or an upgrade reaches every part at once.
import { readFileSync } from 'node:fs';

const root = JSON.parse(readFileSync('package.json', 'utf8'));
const seen = new Map();
for (const dir of ['.', ...root.workspaces]) {
  const pkg = JSON.parse(readFileSync(`${dir}/package.json`, 'utf8'));
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
    for (const [name, range] of Object.entries(pkg[field] ?? {})) {
      if (!seen.has(name)) seen.set(name, new Map());
      seen.get(name).set(`${dir}/package.json`, range);
    }
  }
}
let bad = 0;
for (const [name, where] of seen) {
  if (new Set(where.values()).size > 1) {
    bad++;
    console.error(`${name}: ${[...where].map(([file, range]) => `${range} in ${file}`).join(', ')}`);
  }
}
if (bad > 0) {
  console.error(`check-dependency-versions: ${bad} dependencies with more than one version; use one range everywhere`);
  process.exit(1);
}
console.log(`check-dependency-versions: ${seen.size} dependencies, one version each`);

// Flame graph core: plain TypeScript over typed arrays (no Svelte, no DOM except render.ts).
export * from './tree';
export * from './frames';
export * from './palette';
export * from './layout';
export * from './analysis';
export * from './model';
export * from './units';

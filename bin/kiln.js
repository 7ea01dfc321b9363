#!/usr/bin/env node
// `npx kiln <command>` from the repository root runs this file.
import { setFlagsFromString } from 'node:v8';

if (process.argv[2] === 'agent') {
  // The agent runs its JavaScript in short bursts every interval: optimizing it with TurboFan
  // costs more CPU than it saves (measured: about 2× the agent's total CPU at 19 Hz).
  setFlagsFromString('--max-opt=1');
  // The young generation stays at its initial 1 MB semi-spaces instead of growing to 16 MB ones:
  // under heavy process churn the grown spaces held ~30 MB of RSS, against ~7% more agent CPU when
  // held (no difference under normal load). The size flags themselves only apply at start.
  setFlagsFromString('--semi-space-growth-factor=1');
  // Once the old generation has grown 1 MB past start-up, V8's memory reducer runs two
  // mark-compacts (25–40 ms of CPU each) to shrink a heap of ~6 MB, in every run: about 30% of
  // the agent's steady-state CPU at 19 Hz under the agent-overhead bench's load. The reducer still
  // runs after the heap's ordinary mark-compacts.
  setFlagsFromString('--no-memory-reducer-for-small-heaps');
}

const { main } = await import('@kiln/cli');
process.exitCode = await main(process.argv.slice(2));

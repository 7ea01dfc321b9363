#!/usr/bin/env node
// `npx kiln <command>` from the repository root runs this file.
import { main } from '@kiln/cli';

process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// Development entry: runs the compiled commands without the manifest, so a new command shows up
// before `npm run build` regenerates oclif.manifest.json. Run `npx tsc -w` beside it.
import { execute } from '@oclif/core';

await execute({ development: true, dir: import.meta.url });

// Entry of the bundled CLI (dist/bundle/cli/main.js, written by scripts/bundle.js; bin/run.js imports
// it). oclif finds its root from here: dist/bundle, with its own package.json and manifest, so every
// command loads from the bundle and shares this one copy of oclif.
import { execute } from '@oclif/core';

export async function main(): Promise<void> {
  await execute({ dir: import.meta.url });
}

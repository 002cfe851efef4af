// Measure-only experiment: bundle the CLI's entry with @oclif/core into one CommonJS file with
// esbuild (installed by bench/sdk/setup.sh into bench/.sdk, never a dependency of the CLI) under
// bench/out/bundle/, next to copies of package.json and the manifest and links to dist and
// node_modules, so `node bench/out/bundle/bin/run.cjs --help` runs the same commands from one file.
// Prints the path of the bundled entry.
import { mkdirSync, copyFileSync, symlinkSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from '../lib.js';

const sdk = join(ROOT, 'bench', '.sdk');
if (!existsSync(join(sdk, 'node_modules', 'esbuild'))) {
  console.error('esbuild is not installed: run sh bench/sdk/setup.sh');
  process.exit(1);
}
const esbuild = createRequire(join(sdk, 'package.json'))('esbuild');
const out = join(ROOT, 'bench', 'out', 'bundle');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'bin'), { recursive: true });
for (const f of ['package.json', 'oclif.manifest.json']) copyFileSync(join(ROOT, f), join(out, f));
symlinkSync(join(ROOT, 'dist'), join(out, 'dist'));
symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'));
const entry = join(out, 'entry.cjs');
writeFileSync(entry, "require('@oclif/core').execute({ dir: __filename });\n");
await esbuild.build({
  entryPoints: [entry],
  outfile: join(out, 'bin', 'run.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: true,
  logLevel: 'error',
  nodePaths: [join(ROOT, 'node_modules')],
  // Loaded by oclif only for TypeScript sources in development; never on this path.
  external: ['typescript', 'ts-node', 'tsx'],
});
console.log(join(out, 'bin', 'run.cjs'));

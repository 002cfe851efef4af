// Build: compile TypeScript (type-check, and dist/ for bin/dev.js), write oclif.manifest.json, bundle
// the CLI into dist/bundle (what bin/run.js runs) with its own manifest, and fail if a manifest
// misses a command.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from './bundle.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args, cwd = root) => {
  try {
    execFileSync(cmd, args, { cwd, stdio: 'inherit' });
  } catch {
    fail(`${cmd.split('/').pop()} ${args.join(' ')}`);
  }
};
const fail = (what) => {
  console.error(`build failed: ${what}`);
  process.exit(1);
};

rmSync(join(root, 'dist'), { recursive: true, force: true });
rmSync(join(root, 'oclif.manifest.json'), { force: true });
run(bin('tsc'), ['-p', '.']);
run(bin('oclif'), ['manifest']);
let out;
try {
  out = await bundle(root);
} catch (err) {
  fail(`bundle: ${err.message}`);
}
// Run in the bundle's directory: `oclif manifest` deletes ./oclif.manifest.json first. It loads
// every bundled command, so a command that does not load from the bundle fails the build here.
run(bin('oclif'), ['manifest', '.'], out);

function commandIds(dir, base = dir) {
  const ids = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) ids.push(...commandIds(path, base));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) {
      ids.push(relative(base, path).replace(/\.ts$/, '').split('/').join(':'));
    }
  }
  return ids;
}

const ids = commandIds(join(root, 'src', 'commands'));
for (const file of [join(root, 'oclif.manifest.json'), join(out, 'oclif.manifest.json')]) {
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  const missing = ids.filter((id) => !manifest.commands[id]);
  if (missing.length) fail(`${relative(root, file)} is missing commands: ${missing.join(', ')}`);
}
console.error(`built: ${ids.length} commands in oclif.manifest.json and the bundle (${relative(root, out)})`);

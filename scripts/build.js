// Build: compile TypeScript, write oclif.manifest.json, and fail if the manifest misses a command.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args) => {
  try {
    execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
  } catch {
    console.error(`build failed: ${cmd.split('/').pop()} ${args.join(' ')}`);
    process.exit(1);
  }
};

rmSync(join(root, 'dist'), { recursive: true, force: true });
rmSync(join(root, 'oclif.manifest.json'), { force: true });
run(bin('tsc'), ['-p', '.']);
run(bin('oclif'), ['manifest']);

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

const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8'));
const missing = commandIds(join(root, 'src', 'commands')).filter((id) => !manifest.commands[id]);
if (missing.length) {
  console.error(`oclif.manifest.json is missing commands: ${missing.join(', ')}`);
  process.exit(1);
}
console.error(`built: ${Object.keys(manifest.commands).length} commands in oclif.manifest.json`);

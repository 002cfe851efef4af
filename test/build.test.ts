// The build's oclif.manifest.json must list exactly the commands in src/commands (a stale manifest
// hides new commands from oclif), and every command must carry a description and an example.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Script } from 'node:vm';
import { ROOT, runCli } from './helpers/cli.js';
// @ts-expect-error: a plain JavaScript build script, without type declarations.
import { wrapOclif } from '../scripts/bundle.js';

interface ManifestCommand {
  id: string;
  description?: string;
  examples?: string[];
  aliases?: string[];
}

function commandIds(dir: string, ext: string, base = dir): string[] {
  const ids: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) ids.push(...commandIds(path, ext, base));
    else if (name.endsWith(ext) && !name.endsWith('.d.ts')) ids.push(relative(base, path).slice(0, -ext.length).split('/').join(':'));
  }
  return ids.sort();
}

const manifest = JSON.parse(readFileSync(join(ROOT, 'oclif.manifest.json'), 'utf8')) as { version: string; commands: Record<string, ManifestCommand> };
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
// What bin/run.js runs: the bundle's own manifest (scripts/bundle.js), with plugin-help's command.
const bundled = JSON.parse(readFileSync(join(ROOT, 'dist', 'bundle', 'oclif.manifest.json'), 'utf8')) as {
  version: string;
  commands: Record<string, ManifestCommand & { relativePath?: string[] }>;
};

describe('build output', () => {
  it('oclif.manifest.json lists exactly the commands under src/commands and dist/commands', () => {
    const fromSource = commandIds(join(ROOT, 'src', 'commands'), '.ts');
    expect(fromSource.length).toBeGreaterThan(0);
    expect(Object.keys(manifest.commands).sort()).toEqual(fromSource);
    expect(commandIds(join(ROOT, 'dist', 'commands'), '.js')).toEqual(fromSource);
    expect(manifest.version).toBe(pkg.version);
  });

  it('the bundle runs every command from its own files, and help from the same oclif', () => {
    const fromSource = commandIds(join(ROOT, 'src', 'commands'), '.ts');
    expect(Object.keys(bundled.commands).sort()).toEqual([...fromSource, 'help'].sort());
    expect(bundled.version).toBe(pkg.version);
    for (const [id, cmd] of Object.entries(bundled.commands)) {
      expect(cmd.relativePath, id).toEqual(['commands', ...id.split(':').slice(0, -1), `${id.split(':').at(-1)}.js`]);
      expect(statSync(join(ROOT, 'dist', 'bundle', ...cmd.relativePath!)).isFile(), id).toBe(true);
    }
  });

  it('the bundled oclif comes with a V8 code cache this Node accepts', () => {
    const file = join(ROOT, 'dist', 'bundle', 'oclif', 'core.cjs');
    const script = new Script(wrapOclif(readFileSync(file, 'utf8')), { filename: file, cachedData: readFileSync(`${file}.cache`) });
    expect(script.cachedDataRejected).toBe(false);
  });

  it('every command has a description and at least one example', () => {
    for (const [id, cmd] of Object.entries(manifest.commands)) {
      expect(cmd.description?.trim(), id).toBeTruthy();
      expect(cmd.examples?.length ?? 0, id).toBeGreaterThan(0);
    }
  });

  it('the help lists every command', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const id of Object.keys(manifest.commands)) {
      const topic = id.split(':')[0]!;
      expect(r.stdout).toContain(topic);
    }
  });
});

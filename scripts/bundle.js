// The bundled CLI that bin/run.js runs: src/ with @oclif/core and the other dependencies, bundled
// by esbuild into dist/bundle/ (ESM, code splitting). Loading the framework as one file instead of
// ~160 CommonJS modules is most of the start-up saving (docs/notes/perf-startup.md).
//
// Layout (every file one directory below dist/bundle, as in dist/, so `new URL('../engine/cli.js',
// import.meta.url)` in src/lib/local.ts finds the bundled engine from whichever chunk it lands in):
//   cli/main.js        the entry bin/run.js imports (oclif's execute)
//   commands/**.js     one entry per command, as oclif's `pattern` discovery and the manifest expect,
//                      plus plugin-help's `help` command, so `sprites help` runs on the same oclif
//   hooks/*.js         oclif hooks
//   engine/cli.js      the detached engine process (src/lib/local.ts spawns it)
//   chunks/*.js        code shared between entries, and every dynamic import() (the engine, ora,
//                      cli-table3, chalk, conf, ws…) as chunks loaded only when used
//   oclif/core.cjs     @oclif/core as one CommonJS file, and core.cjs.cache, its V8 code cache:
//                      `import … from '@oclif/core'` anywhere in the bundle loads this one copy
//   package.json       oclif's root for the bundle: package.json's oclif section pointing at the
//                      files above, without plugins (help is bundled)
//   oclif.manifest.json
import { readdirSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';

/** @oclif/core as one CommonJS file, compiled through a V8 code cache (see oclifFromCodeCache). */
const OCLIF = 'oclif/core.cjs';
/** How the loader wraps that file; the code cache is made for exactly this source. */
const WRAP_HEAD = '(function (exports, require, module, __filename, __dirname, __import) {';
const WRAP_TAIL = '\n})';

/** The source the loader compiles for core.cjs's text (for tests of the cache). */
export function wrapOclif(text) {
  return WRAP_HEAD + text + WRAP_TAIL;
}

/** Bundle `root`/src into `root`/dist/bundle. Returns the bundle's directory. */
export async function bundle(root) {
  const esbuild = createRequire(join(root, 'package.json'))('esbuild');
  const out = join(root, 'dist', 'bundle');
  const entries = [
    { in: join(root, 'src', 'cli', 'main.ts'), out: 'cli/main' },
    { in: join(root, 'src', 'engine', 'cli.ts'), out: 'engine/cli' },
    { in: join(root, 'src', 'hooks', 'command-not-found.ts'), out: 'hooks/command-not-found' },
    // Not through the package's name: its exports map hides the file.
    { in: join(root, 'node_modules', '@oclif', 'plugin-help', 'lib', 'commands', 'help.js'), out: 'commands/help' },
    ...sources(join(root, 'src', 'commands')).map((file) => ({
      in: file,
      out: join('commands', relative(join(root, 'src', 'commands'), file).replace(/\.ts$/, '')),
    })),
  ];
  // Native (the PTY library) or optional native speed-ups of ws: resolved at run time, from
  // node_modules, only when used (ws falls back to JS when they are missing). TypeScript
  // compilers oclif loads only for .ts sources in development (bin/dev.js).
  const external = ['@lydell/node-pty', 'bufferutil', 'utf-8-validate', 'typescript', 'ts-node', 'tsx'];
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    // No minification and no keepNames: src/engine/sandbox/net-agent.ts runs a function's own
    // source (`agentMain.toString()`) in another process, which must not call esbuild helpers
    // such as keepNames' __name(); unminified code also keeps stack traces readable.
    minify: false,
    // Maps for `node --enable-source-maps` (TypeScript lines in stack traces); without that flag
    // Node never reads them, so they cost nothing at start-up.
    sourcemap: 'linked',
    sourcesContent: false,
    legalComments: 'inline',
    logLevel: 'warning',
    external,
  };
  await esbuild.build({
    stdin: { contents: "module.exports = require('@oclif/core');", resolveDir: root, sourcefile: 'oclif-core.js', loader: 'js' },
    outfile: join(out, OCLIF),
    ...common,
    format: 'cjs',
    plugins: [lazyOclifModules()],
  });
  await esbuild.build({
    entryPoints: entries,
    outdir: out,
    chunkNames: 'chunks/[name]-[hash]',
    ...common,
    splitting: true,
    format: 'esm',
    plugins: [oclifFromCodeCache(root, Object.keys(createRequire(join(root, 'package.json'))('@oclif/core'))), lazyWsBuiltins()],
    // CommonJS dependencies (oclif, ws…) call require() for Node built-ins; an ES module has none.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);" },
  });
  writeRootPackage(root, out);
  writeCodeCache(join(out, OCLIF));
  return out;
}

/**
 * `import … from '@oclif/core'` in the bundle: the CommonJS oclif (dist/bundle/oclif/core.cjs),
 * compiled with the V8 code cache written at build time, which halves the framework's load time
 * (~30 -> ~15 ms). A Node whose V8 differs rejects the cache and compiles the source as usual.
 * The loader runs in the module that esbuild puts in some chunk: one directory below the bundle
 * root, like every file, hence '../'.
 */
function oclifFromCodeCache(root, names) {
  const loader = `
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
const file = fileURLToPath(new URL('../${OCLIF}', import.meta.url));
let cachedData;
try {
  cachedData = readFileSync(file + '.cache');
} catch {
  cachedData = undefined;
}
const script = new Script(${JSON.stringify(WRAP_HEAD)} + readFileSync(file, 'utf8') + ${JSON.stringify(WRAP_TAIL)}, { filename: file, cachedData });
const oclif = { exports: {} };
// oclif imports ES modules (the commands) with import(), which a vm script cannot do itself.
script.runInThisContext()(oclif.exports, createRequire(file), oclif, file, dirname(file), (specifier) => import(specifier));
export const { ${names.join(', ')} } = oclif.exports;
`;
  return {
    name: 'oclif-from-code-cache',
    setup(build) {
      build.onResolve({ filter: /^@oclif\/core$/ }, () => ({ path: 'oclif-core', namespace: 'oclif-from-code-cache' }));
      build.onLoad({ filter: /.*/, namespace: 'oclif-from-code-cache' }, () => ({ contents: loader, loader: 'js', resolveDir: root }));
    },
  };
}

/** The code cache of core.cjs, made after running it once (so what its load compiles is in it). */
function writeCodeCache(file) {
  const program = `
const { readFileSync, writeFileSync } = require('node:fs');
const { createRequire } = require('node:module');
const { dirname } = require('node:path');
const { Script } = require('node:vm');
const file = ${JSON.stringify(file)};
const script = new Script(${JSON.stringify(WRAP_HEAD)} + readFileSync(file, 'utf8') + ${JSON.stringify(WRAP_TAIL)}, { filename: file });
const oclif = { exports: {} };
script.runInThisContext()(oclif.exports, createRequire(file), oclif, file, dirname(file), (specifier) => import(specifier));
// Loading the bundle's config compiles what every command runs first.
oclif.exports.Config.load(${JSON.stringify(join(file, '..', '..'))}).then(() => writeFileSync(file + '.cache', script.createCachedData()));
`;
  execFileSync(process.execPath, ['-e', program], { stdio: 'inherit' });
}

/**
 * oclif requires some modules at load time that a run with a manifest never uses, or uses only
 * for help: they load on first use instead. Its Node version check cannot run in a bundle (it
 * reads its package.json through __dirname, which an ES module lacks, so it always threw and was
 * skipped), but it loaded semver first: the call goes. Its import() of command modules calls the
 * function the loader passes in (oclifFromCodeCache): the build fails if it cannot. Any other
 * pattern that no longer matches after an oclif upgrade costs start-up time, not behaviour; the
 * build warns.
 */
function lazyOclifModules() {
  const lazy = ['tinyglobby', 'minimatch', 'lilconfig', 'ejs'];
  const statement = new RegExp(`^const (\\w+) = (__importDefault\\()?require\\("(${lazy.join('|')})"\\)(\\))?;$`, 'gm');
  let rewritten = 0;
  return {
    name: 'lazy-oclif-modules',
    setup(build) {
      build.onLoad({ filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/].*\.js$/ }, async ({ path }) => {
        let text = readFileSync(path, 'utf8');
        text = text.replace(statement, (_, name, wrap = '', mod, close = '') => {
          rewritten++;
          return `const ${name} = new Proxy({}, { get: (_, key) => ${wrap}require("${mod}")${close}[key] });`;
        });
        if (/[\\/]lib[\\/]module-loader\.js$/.test(path)) {
          text = text.replace(/await import\(/g, 'await __import(');
          // Not optional: an import() left in would fail every command at run time.
          if (!text.includes('await __import(') || /[^_]import\(/.test(text.replace(/\/\/.*|`[^`]*`|'[^']*'/g, ''))) {
            return { errors: [{ text: `cannot route the import() calls of ${path} through the loader (has @oclif/core changed?)` }] };
          }
          rewritten++;
        }
        if (/[\\/]lib[\\/]index\.js$/.test(path) && /^checkNodeVersion\(\);$/m.test(text)) {
          text = text.replace(/^checkNodeVersion\(\);$/m, '');
          rewritten++;
        }
        return { contents: text, loader: 'js' };
      });
      build.onEnd(() => {
        if (rewritten < 7) console.warn(`bundle: only ${rewritten} of 7 oclif start-up rewrites applied (has @oclif/core changed?)`);
      });
    },
  };
}

/**
 * ws requires https and tls (for wss: URLs) and zlib (for permessage-deflate, which the CLI and
 * the engine turn off) when it loads; they load on first use instead. The same warning as above.
 */
function lazyWsBuiltins() {
  const statement = /^const (https|tls|zlib) = require\('\1'\);$/gm;
  let rewritten = 0;
  return {
    name: 'lazy-ws-builtins',
    setup(build) {
      build.onLoad({ filter: /[\\/]node_modules[\\/]ws[\\/]lib[\\/](websocket|permessage-deflate)\.js$/ }, ({ path }) => {
        const text = readFileSync(path, 'utf8').replace(statement, (_, name) => {
          rewritten++;
          return `const ${name} = new Proxy({}, { get: (_, key) => require('${name}')[key] });`;
        });
        return { contents: text, loader: 'js' };
      });
      build.onEnd(() => {
        if (rewritten < 3) console.warn(`bundle: only ${rewritten} of 3 ws start-up rewrites applied (has ws changed?)`);
      });
    },
  };
}

/** dist/bundle/package.json: the project's, with oclif's paths pointing into the bundle. */
function writeRootPackage(root, out) {
  const pjson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const oclif = { ...pjson.oclif, commands: './commands', plugins: [] };
  const inBundle = (target) => {
    if (typeof target !== 'string' || !target.startsWith('./dist/')) throw new Error(`bundle: hook target ${JSON.stringify(target)} is not a ./dist/ path`);
    return target.replace(/^\.\/dist\//, './');
  };
  oclif.hooks = Object.fromEntries(
    Object.entries(pjson.oclif.hooks ?? {}).map(([event, target]) => [event, Array.isArray(target) ? target.map(inBundle) : inBundle(target)]),
  );
  // `files` only because `oclif manifest` insists on one.
  const bundled = { name: pjson.name, version: pjson.version, description: pjson.description, type: 'module', private: true, files: ['.'], oclif };
  writeFileSync(join(out, 'package.json'), JSON.stringify(bundled, null, 2) + '\n');
}

function sources(dir) {
  const files = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sources(path));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

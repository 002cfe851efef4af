// Drive the official client (@fly/sprites, installed by bench/sdk/setup.sh) against our engine, the
// way a program using the SDK would. Run with the Node 24 binary from bench/.sdk:
//   SPRITES_API_URL=... SPRITES_TOKEN=... node24 driver.mjs MODE SPRITE [ARGS]
// Modes (each prints at most one JSON line on stderr-free stdout unless it streams data):
//   exec-true            one execFile('true') and exit (whole-process timing, like `sprites exec s -- true`)
//   exec-latency N       N sequential execFile('true') in one process: {"ms":[...]} (connection set-up included)
//   stdout BYTES         remote `head -c BYTES /dev/zero`, piped to this process's stdout
//   stdin                this process's stdin piped to remote `wc -c`; prints the remote count
//   proxy REMOTE_PORT    proxyPort() on a free local port; prints {"port"}; runs until stdin closes
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const sdkRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '.sdk');
const { SpritesClient, proxyPort } = await import(createRequire(join(sdkRoot, 'package.json')).resolve('@fly/sprites'));

const [mode, name, arg] = process.argv.slice(2);
// SPRITES_SDK_API_URL: the engine's real URL (our CLI may be pointed at it with "local").
const client = new SpritesClient(process.env.SPRITES_TOKEN, { baseURL: process.env.SPRITES_SDK_API_URL ?? process.env.SPRITES_API_URL });
const sprite = client.sprite(name);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const fail = (msg) => {
  process.stderr.write(`sdk driver ${mode}: ${msg}\n`);
  process.exit(1);
};
// The SDK throws from event handlers (e.g. a refused upgrade): one line, not a stack.
process.on('uncaughtException', (err) => fail(err.message));
process.on('unhandledRejection', (err) => fail(err?.message ?? String(err)));

/** SDK spawn, resolved once the socket is open (writing stdin before that throws in the SDK). */
function spawnOpen(cmd, args) {
  const child = sprite.spawn(cmd, args);
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child));
    child.once('error', reject);
  });
}

if (mode === 'exec-true') {
  const r = await sprite.execFile('true', []);
  process.exit(r.exitCode);
} else if (mode === 'exec-latency') {
  const ms = [];
  for (let i = 0; i < Number(arg); i++) {
    const t = now();
    const r = await sprite.execFile('true', []);
    if (r.exitCode !== 0) fail(`exit ${r.exitCode}`);
    ms.push(now() - t);
  }
  process.stdout.write(JSON.stringify({ ms }) + '\n');
  process.exit(0);
} else if (mode === 'stdout') {
  const child = await spawnOpen('head', ['-c', String(arg), '/dev/zero']);
  child.stdin.end();
  child.stdout.pipe(process.stdout);
  const code = await child.wait();
  child.stdout.on('end', () => process.stdout.end(() => process.exit(code)));
} else if (mode === 'stdin') {
  const child = await spawnOpen('wc', ['-c']);
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  process.stdin.pipe(child.stdin);
  const code = await child.wait();
  process.stdout.write(out.trim() + '\n');
  process.exit(code);
} else if (mode === 'proxy') {
  const session = await proxyPort(client, name, 0, Number(arg));
  session.on('error', (e) => process.stderr.write(`proxy error: ${e.message}\n`));
  process.stdout.write(JSON.stringify({ port: Number(session.localAddr().split(':').pop()) }) + '\n');
  process.stdin.resume();
  process.stdin.on('end', () => {
    session.close();
    process.exit(0);
  });
} else {
  fail('usage: exec-true | exec-latency N | stdout BYTES | stdin | proxy REMOTE_PORT  (after the sprite name)');
}

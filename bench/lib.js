// Shared by every benchmark: timing, medians, spawning the real binary against a real engine in an
// isolated home, and peak-RSS sampling. Benchmarks are not tests: nothing here asserts a time.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BIN = join(ROOT, 'bin', 'run.js');
export const NODE = process.execPath;
export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;

// ---------- numbers ----------

export function median(xs) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Nearest-rank percentile, p in 0..100. */
export function percentile(xs, p) {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const now = () => Number(process.hrtime.bigint()) / 1e6;

/** MB/s (10^6 bytes per second) for `bytes` moved in `ms`. */
export const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);

export const fmt = {
  ms: (v) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : '-'),
  mbps: (v) => (Number.isFinite(v) ? `${Math.round(v)} MB/s` : '-'),
  mb: (kb) => (Number.isFinite(kb) ? `${(kb / 1024).toFixed(1)} MB` : '-'),
  rate: (v) => (Number.isFinite(v) ? `${Math.round(v)} req/s` : '-'),
  ratio: (v) => (Number.isFinite(v) ? `${v.toFixed(2)}×` : '-'),
  int: (v) => (Number.isFinite(v) ? String(Math.round(v)) : '-'),
};

/**
 * Run each variant `runs` times, round-robin (A B C A B C …) so that drift in machine load hits
 * every variant alike, after `warmup` unrecorded rounds. Returns samples per variant name.
 */
export async function interleave(variants, { runs = 10, warmup = 1 } = {}) {
  const samples = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let round = 0; round < warmup + runs; round++) {
    for (const [name, fn] of Object.entries(variants)) {
      const v = await fn();
      if (round >= warmup) samples[name].push(v);
    }
  }
  return samples;
}

// ---------- processes ----------

/** A fresh home (config, state, data) with no token, no CI and no colour settings inherited. */
export function isolatedHome(prefix = 'sprites-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || /^(SPRITES?_|CI$|FORCE_COLOR$|NO_COLOR$|NODE_OPTIONS$)/.test(k)) continue;
    env[k] = v;
  }
  Object.assign(env, {
    HOME: dir,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_DATA_HOME: join(dir, 'data'),
  });
  return { dir, env, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Peak resident set (VmHWM, kB) of a live process, or NaN once it is gone. */
export function readHwmKb(pid) {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

/**
 * Spawn a process and wait for it. `stdio` as for child_process.spawn (streams with a file
 * descriptor may be passed to wire processes together without this process touching the data).
 * VmHWM is a high-water mark, so the last sample before exit is the peak (to within one interval).
 * Resolves { code, signal, ms, peakRssKb, stdout, stderr } (stdout/stderr only when piped here).
 */
export function run(cmd, args, { env, cwd = ROOT, stdio = ['ignore', 'pipe', 'pipe'], input, timeoutMs = 120_000, rssEveryMs = 0, keepStdout = true } = {}) {
  return new Promise((resolve, reject) => {
    const start = now();
    const child = spawn(cmd, args, { env, cwd, stdio });
    const out = [];
    const err = [];
    let outBytes = 0;
    child.stdout?.on('data', (c) => {
      outBytes += c.length;
      if (keepStdout) out.push(c);
    });
    child.stderr?.on('data', (c) => err.push(c));
    if (child.stdin) {
      child.stdin.on('error', () => {});
      if (input !== undefined) child.stdin.end(input);
      else child.stdin.end();
    }
    let peak = NaN;
    const sample = () => {
      const v = readHwmKb(child.pid);
      if (Number.isFinite(v)) peak = v;
    };
    const sampler = rssEveryMs > 0 ? setInterval(sample, rssEveryMs) : undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${[cmd, ...args].join(' ')} did not finish within ${timeoutMs} ms; stderr: ${Buffer.concat(err).toString().slice(-500)}`));
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      clearInterval(sampler);
      reject(e);
    });
    child.on('exit', () => rssEveryMs > 0 && sample());
    child.on('close', (code, signal) => {
      const ms = now() - start;
      clearTimeout(timer);
      clearInterval(sampler);
      resolve({ code, signal, ms, peakRssKb: peak, stdoutBytes: outBytes, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
  });
}

/** Run and fail loudly (with stderr) unless the exit code is 0. */
export async function runOk(cmd, args, options) {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${[cmd, ...args].join(' ')} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(-500)}`);
  return r;
}

/** `sprites ARGS…` through the real binary. */
export function cli(args, options) {
  return run(NODE, [BIN, ...args], options);
}

export function cliOk(args, options) {
  return runOk(NODE, [BIN, ...args], options);
}

/**
 * A pipeline of processes wired stdout → stdin without this process touching the data
 * (stages: [cmd, args] pairs). Resolves when all have exited: { ms, codes, stdout (last stage),
 * peakRssKb (of stage `rssOf`, sampled every `rssEveryMs`) }.
 */
export function runPipeline(stages, { env, cwd = ROOT, rssOf, rssEveryMs = 20, timeoutMs = 300_000 } = {}) {
  return new Promise((resolve, reject) => {
    const start = now();
    const children = [];
    let prev;
    stages.forEach(([cmd, args], i) => {
      const last = i === stages.length - 1;
      const child = spawn(cmd, args, { env, cwd, stdio: [prev ?? 'ignore', 'pipe', 'pipe'] });
      prev?.destroy();
      prev = last ? undefined : child.stdout;
      children.push(child);
    });
    const lastChild = children[children.length - 1];
    const out = [];
    const errs = children.map(() => []);
    lastChild.stdout.on('data', (c) => out.push(c));
    children.forEach((c, i) => c.stderr.on('data', (d) => errs[i].push(d)));
    let peak = NaN;
    const sample = () => {
      const v = readHwmKb(children[rssOf]?.pid);
      if (Number.isFinite(v)) peak = v;
    };
    const sampler = rssOf !== undefined ? setInterval(sample, rssEveryMs) : undefined;
    const timer = setTimeout(() => {
      for (const c of children) c.kill('SIGKILL');
      reject(new Error(`pipeline ${stages.map(([c, a]) => [c, ...a].join(' ')).join(' | ')} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    const codes = [];
    Promise.all(
      children.map(
        (c, i) =>
          new Promise((res) => {
            c.on('error', reject);
            c.on('exit', () => i === rssOf && sample());
            c.on('close', (code, signal) => res((codes[i] = code ?? signal)));
          }),
      ),
    ).then(() => {
      clearTimeout(timer);
      clearInterval(sampler);
      resolve({ ms: now() - start, codes, peakRssKb: peak, stdout: Buffer.concat(out).toString(), stderr: errs.map((e) => Buffer.concat(e).toString()) });
    });
  });
}

export function hasBinary(name) {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Whether the built CLI has a command (read from the oclif manifest `npm run build` writes). */
export function hasCommand(id) {
  const file = join(ROOT, 'oclif.manifest.json');
  if (!existsSync(file)) return false;
  return Boolean(JSON.parse(readFileSync(file, 'utf8')).commands[id]);
}

// ---------- the engine ----------

const engines = new Set();

/**
 * A real engine (`sprites local start --foreground --json`) on a random port in an isolated home.
 * `env` points CLI runs at it explicitly (SPRITES_API_URL + SPRITES_TOKEN), or, with
 * SPRITES_BENCH_API=local, through its state file as `--api local` does (the CLI then knows it talks
 * to the local engine, which changes how it opens WebSockets: docs/notes/perf.md).
 */
export async function startEngine() {
  const home = isolatedHome();
  // SPRITES_BENCH_ISOLATION=host: the proxy workloads dial servers on this host, which a sandboxed
  // sprite (its own network namespace) cannot reach.
  const isolation = process.env.SPRITES_BENCH_ISOLATION ? ['--isolation', process.env.SPRITES_BENCH_ISOLATION] : [];
  const child = spawn(NODE, [BIN, 'local', 'start', '--foreground', '--json', ...isolation], { env: home.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-4000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const line = await new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`engine exited with ${code} before it was ready: ${stderr}`)));
  });
  const ready = JSON.parse(line);
  const state = JSON.parse(readFileSync(join(home.env.XDG_STATE_HOME, 'sprites', 'engine.json'), 'utf8'));
  const engine = {
    url: ready.url,
    token: state.token,
    pid: ready.pid,
    dataDir: ready.data_dir,
    home,
    // The CLI finds the engine the way a user's run does (state file, --api local), so it takes the
    // local-engine paths (unmasked WebSocket frames); SPRITES_BENCH_API=url passes the URL instead.
    env: process.env.SPRITES_BENCH_API === 'url' ? { ...home.env, SPRITES_API_URL: ready.url, SPRITES_TOKEN: state.token } : { ...home.env, SPRITES_API_URL: 'local' },
    /** Undefined while the engine runs; else how it ended and the tail of its stderr. */
    death() {
      if (child.exitCode === null && child.signalCode === null) return undefined;
      return `engine exited (${child.exitCode ?? child.signalCode}): ${stderr.trim().slice(-600)}`;
    },
    /** An authenticated request to the engine (for setup, not for measured figures). */
    async fetch(path, init = {}) {
      return fetch(ready.url + path, { ...init, headers: { authorization: `Bearer ${state.token}`, ...(init.headers ?? {}) } });
    },
    /** Create a sprite through the API; one that already exists is fine. */
    async createSprite(name) {
      const exists = await engine.fetch(`/v1/sprites/${encodeURIComponent(name)}`);
      await exists.body?.cancel();
      if (exists.status === 200) return;
      const res = await engine.fetch('/v1/sprites', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
      if (res.status !== 201 && res.status !== 200) throw new Error(`create sprite ${name}: ${res.status} ${await res.text()}`);
      await res.body?.cancel();
    },
    async stop() {
      engines.delete(engine);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      home.cleanup();
    },
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      home.cleanup();
    },
  };
  engines.add(engine);
  return engine;
}

/** Stop every engine still running (end of run, or on Ctrl-C). */
export async function stopAllEngines() {
  await Promise.all([...engines].map((e) => e.stop().catch(() => e.kill())));
}

export function killAllEnginesSync() {
  for (const e of engines) e.kill();
}

// ---------- results ----------

/**
 * A figure: ours against a baseline measured in the same run. `lowerIsBetter` decides which way
 * the ratio reads: ratio = ours / baseline for times, baseline-relative share for throughputs.
 */
export function figure({ name, ours, baseline, baselineName, unit, target, note, lowerIsBetter = true, runs }) {
  const ratio = Number.isFinite(ours) && Number.isFinite(baseline) && baseline !== 0 ? ours / baseline : NaN;
  return { name, ours, baseline, baselineName, unit, target, note, lowerIsBetter, ratio, runs };
}

export function skipped(name, reason) {
  return { name, skipped: reason };
}

/**
 * Run one workload of a benchmark; a failure becomes a skipped figure and a note instead of ending
 * the benchmark (the suite must always complete). Resolves the workload's value or undefined.
 */
export async function attempt(out, name, fn) {
  try {
    return await fn();
  } catch (err) {
    const msg = String(err.message ?? err).split('\n')[0].slice(0, 300);
    out.figures.push(skipped(name, `failed: ${msg}`));
    out.notes.push(`**${name} failed:** ${msg}`);
    return undefined;
  }
}

// Run the real binary (bin/run.js) as a subprocess, against a real engine, with isolated XDG dirs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'run.js');

export type Env = Record<string, string>;

/** A fresh home for one test file: config, state and data dirs of its own; no token, no CI. */
export function isolatedEnv(): { dir: string; env: Env; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'sprites-test-'));
  const env: Env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(SPRITES?_|CI$|FORCE_COLOR$|NO_COLOR$)/.test(k)) continue;
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

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface RunOptions {
  env?: Env;
  input?: string | Buffer;
  cwd?: string;
  timeoutMs?: number;
}

/** Run `sprites ARGS...` piped (no TTY) and collect everything. */
export function runCli(args: string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: options.env ?? (process.env as Env),
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sprites ${args.join(' ')} did not finish within ${options.timeoutMs ?? 30_000} ms; stderr: ${Buffer.concat(err).toString()}`));
    }, options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBytes = Buffer.concat(out);
      resolve({ code, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.on('error', () => {});
    if (options.input !== undefined) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

export interface TestEngine {
  url: string;
  token: string;
  pid: number;
  dataDir: string;
  /** Env for CLI runs against this engine: explicit URL and token. */
  env: Env;
  /** Env for CLI runs that find the engine through its state file (`--api local`). */
  localEnv: Env;
  process: ChildProcess;
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** How test engines run sprites: SPRITES_ISOLATION (auto|sandbox|host) of the test run, else the default. */
const ISOLATION = process.env.SPRITES_ISOLATION ? ['--isolation', process.env.SPRITES_ISOLATION] : [];

/** Start a real engine (`sprites local start --foreground`) on a random port in an isolated home. */
export async function startEngine(base = isolatedEnv(), extraArgs: string[] = []): Promise<TestEngine & { cleanup(): void }> {
  const child = spawn(process.execPath, [BIN, 'local', 'start', '--foreground', '--json', ...(extraArgs.includes('--isolation') ? [] : ISOLATION), ...extraArgs], {
    env: base.env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', (line) => resolve(line));
    child.once('exit', (code) => reject(new Error(`engine exited with ${code} before it was ready: ${stderr}`)));
  });
  const ready = JSON.parse(first) as { url: string; pid: number; data_dir: string };
  const { readFileSync } = await import('node:fs');
  const state = JSON.parse(readFileSync(join(base.env.XDG_STATE_HOME!, 'sprites', 'engine.json'), 'utf8')) as { token: string };
  const env = { ...base.env, SPRITES_API_URL: ready.url, SPRITES_TOKEN: state.token };
  const localEnv = { ...base.env, SPRITES_API_URL: 'local' };
  const engine = {
    url: ready.url,
    token: state.token,
    pid: ready.pid,
    dataDir: ready.data_dir,
    env,
    localEnv,
    process: child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    cleanup() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      base.cleanup();
    },
  };
  return engine;
}

/** Plain fetch against the engine with its token, for engine-level tests. */
export function engineFetch(engine: Pick<TestEngine, 'url' | 'token'>, path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(engine.url + path, {
    ...init,
    headers: { authorization: `Bearer ${engine.token}`, ...(init.headers as Record<string, string> | undefined) },
  });
}

/** How a sprite's commands see its home: /home/sprite in the sandbox driver, its host directory in the host driver. */
export async function spriteHomePattern(engine: Pick<TestEngine, 'url' | 'token'>, sprite: string): Promise<RegExp> {
  const status = (await (await engineFetch(engine, '/v1/local/status')).json()) as { isolation?: { driver: string } };
  return status.isolation?.driver === 'sandbox' ? /^\/home\/sprite$/ : new RegExp(`/sprites/${sprite}/fs/home/sprite$`);
}

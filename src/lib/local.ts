// Find the running local engine through its state file, or start one detached and wait for it.
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { EngineState, SpritesPaths } from '../protocol/paths.js';
import type { IsolationInfo } from '../protocol/isolation.js';
import { FileError, OperationError } from './errors.js';
import { readBounded, send } from './transport.js';

const START_TIMEOUT_MS = 20_000;
const POLL_MS = 25;

export async function readEngineState(file: string): Promise<EngineState | undefined> {
  let raw: string;
  try {
    raw = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FileError(file, `cannot read engine state file ${file}: ${(err as Error).message}`);
  }
  try {
    const state = JSON.parse(raw) as EngineState;
    if (typeof state.url !== 'string' || typeof state.token !== 'string' || typeof state.pid !== 'number') {
      throw new Error('missing url, token or pid');
    }
    return state;
  } catch (err) {
    throw new FileError(
      file,
      `engine state file ${file} is corrupt (${(err as Error).message}); stop any engine with "sprites local stop" or delete the file`,
    );
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the engine in this state answers an authenticated request. */
export async function engineAnswers(state: EngineState, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await send(`${state.url}/v1/local/status`, {
      method: 'GET',
      headers: { authorization: `Bearer ${state.token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    res.body.destroy();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * The running engine, or undefined. A state file left by a dead engine is removed. An engine that is
 * alive but slow to answer (a loaded machine) gets until START_TIMEOUT_MS: starting a second engine
 * beside it would take over its state file while it still serves the same data directory.
 */
export async function findEngine(paths: SpritesPaths): Promise<EngineState | undefined> {
  const state = await readEngineState(paths.engineStateFile);
  if (!state) return undefined;
  if (!pidAlive(state.pid)) {
    await rm(paths.engineStateFile, { force: true });
    return undefined;
  }
  if (await engineAnswers(state)) return state;
  if (!(await looksLikeEngine(state.pid))) return undefined;
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline && pidAlive(state.pid)) {
    if (await engineAnswers(state, Math.max(1, Math.min(5000, deadline - Date.now())))) return state;
    await delay(POLL_MS);
  }
  if (!pidAlive(state.pid)) return findEngine(paths);
  throw new OperationError(
    `the local engine (pid ${state.pid}) is running but has not answered for ${START_TIMEOUT_MS / 1000}s; its log: ${paths.engineLogFile} (sprites local stop stops it)`,
  );
}

export interface StartOptions {
  port?: number;
  dataDir?: string;
  /** auto | sandbox | host: how the engine runs sprites. */
  isolation?: string;
}

/** The running engine, starting one detached if none runs. Concurrent callers start only one. */
export async function ensureEngine(paths: SpritesPaths, options: StartOptions = {}): Promise<{ state: EngineState; started: boolean }> {
  const running = await findEngine(paths);
  if (running) return { state: running, started: false };
  await mkdir(paths.stateDir, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    const lock = await tryLock(paths.engineLockFile);
    if (lock) {
      try {
        const again = await findEngine(paths);
        if (again) return { state: again, started: false };
        return { state: await startDetached(paths, options, deadline), started: true };
      } finally {
        await rm(paths.engineLockFile, { force: true });
      }
    }
    // Someone else is starting it: wait for it to answer.
    const state = await findEngine(paths);
    if (state) return { state, started: false };
    if (Date.now() > deadline) {
      throw new OperationError(`timed out waiting for another process to start the local engine (lock ${paths.engineLockFile})`);
    }
    await delay(POLL_MS);
  }
}

async function tryLock(file: string): Promise<boolean> {
  try {
    const fh = await open(file, 'wx', 0o600);
    await fh.writeFile(String(process.pid));
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  // A lock whose holder died is stale.
  try {
    const holder = Number(await readFile(file, 'utf8'));
    const age = Date.now() - (await stat(file)).mtimeMs;
    if ((Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) || age > START_TIMEOUT_MS) {
      await rm(file, { force: true });
    }
  } catch {
    // Gone in between: the next round takes it.
  }
  return false;
}

export function engineEntry(): string {
  return fileURLToPath(new URL('../engine/cli.js', import.meta.url));
}

async function startDetached(paths: SpritesPaths, options: StartOptions, deadline: number): Promise<EngineState> {
  const before = await readEngineState(paths.engineStateFile).catch(() => undefined);
  if (before) await rm(paths.engineStateFile, { force: true });
  const log = openSync(paths.engineLogFile, 'a', 0o600);
  const args = [engineEntry(), '--data-dir', options.dataDir ?? paths.dataDir, '--state-file', paths.engineStateFile, '--port', String(options.port ?? 0), '--isolation', options.isolation ?? process.env.SPRITES_ISOLATION ?? 'auto'];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: process.env });
  closeSync(log);
  let exited: number | null = null;
  child.once('exit', (code) => (exited = code ?? 1));
  child.unref();
  for (;;) {
    const state = await readEngineState(paths.engineStateFile).catch(() => undefined);
    if (state && state.pid === child.pid && (await engineAnswers(state))) return state;
    if (exited !== null) {
      const tail = await readFile(paths.engineLogFile, 'utf8').then((t) => t.trim().split('\n').slice(-3).join(' | ')).catch(() => '');
      throw new OperationError(`the local engine exited during start-up (code ${exited})${tail ? `: ${tail}` : ''}; log: ${paths.engineLogFile}`);
    }
    if (Date.now() > deadline) {
      throw new OperationError(`the local engine did not answer within ${START_TIMEOUT_MS / 1000}s; log: ${paths.engineLogFile}`);
    }
    await delay(POLL_MS);
  }
}

/** Stop the engine described by the state file: SIGTERM, then SIGKILL after a grace period. */
export async function stopEngine(paths: SpritesPaths, graceMs = 10_000): Promise<EngineState | undefined> {
  const state = await readEngineState(paths.engineStateFile);
  if (!state) return undefined;
  // The pid may have been reused by an unrelated process since the engine died: only signal it
  // when it answers as the engine, or its command line says it is one.
  if (!pidAlive(state.pid) || !((await engineAnswers(state)) || (await looksLikeEngine(state.pid)))) {
    await rm(paths.engineStateFile, { force: true });
    return undefined;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pidAlive(state.pid)) {
    if (Date.now() > deadline) {
      process.kill(state.pid, 'SIGKILL');
      break;
    }
    await delay(POLL_MS);
  }
  await rm(paths.engineStateFile, { force: true });
  return state;
}

/** Whether the process's command line is the engine's (Linux /proc; false where unknown). */
async function looksLikeEngine(pid: number): Promise<boolean> {
  try {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.some((arg) => arg.endsWith('engine/cli.js')) || (cmdline.includes('local') && cmdline.includes('start'));
  } catch {
    return false;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface EngineStatus {
  version: string;
  pid: number;
  url: string;
  data_dir: string;
  started_at: string;
  sprites: number;
  /** How sprites run and which of their properties this engine enforces. */
  isolation?: IsolationInfo;
}

/** What the running engine says of itself (engine-only route). */
export async function engineStatus(state: EngineState): Promise<EngineStatus> {
  const res = await send(`${state.url}/v1/local/status`, {
    method: 'GET',
    headers: { authorization: `Bearer ${state.token}` },
    signal: AbortSignal.timeout(5000),
  });
  if (res.status !== 200) {
    res.body.destroy();
    throw new OperationError(`the local engine at ${state.url} answered ${res.status} to a status request`);
  }
  const text = await readBounded(res, 1024 * 1024, () => new OperationError(`the local engine at ${state.url} sent an oversized status answer`));
  return JSON.parse(text) as EngineStatus;
}

// Run the engine as a process: listen, publish the state file, shut down cleanly on a signal.
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { Engine } from './server.js';
import { chooseDriver, type IsolationMode } from './isolation.js';
import { writeFileAtomic } from './fsutil.js';
import { SERVER_VERSION } from './http.js';
import type { EngineState } from '../protocol/paths.js';

export interface RunEngineOptions {
  dataDir: string;
  stateFile: string;
  port?: number;
  /** How sprites run: `auto` (the default) is sandbox when it can be built here, else host. */
  isolation?: IsolationMode;
  /** Called once the engine answers requests and the state file is written. */
  onReady?: (state: EngineState) => void;
}

export async function runEngine(options: RunEngineOptions): Promise<{ engine: Engine; stopped: Promise<void> }> {
  const token = randomBytes(32).toString('hex');
  // Sprites must not read the engine's data (every sprite's disk) or its state (the token).
  const hidden = [...new Set([options.dataDir, dirname(options.stateFile), homedir()])].filter((p) => p !== '/');
  const chosen = await chooseDriver(options.isolation ?? 'auto', hidden);
  if (chosen.info.reason !== undefined) {
    process.stderr.write(`sprites engine: sandbox isolation is not available (${chosen.info.reason}); sprites run as host processes\n`);
  }
  const engine = new Engine({ dataDir: options.dataDir, token, port: options.port ?? 0, driver: chosen.create, isolation: chosen.info });
  await engine.start();
  const state: EngineState = {
    url: engine.url,
    token,
    pid: process.pid,
    data_dir: options.dataDir,
    started_at: engine.startedAt.toISOString(),
    version: SERVER_VERSION,
  };
  await writeFileAtomic(options.stateFile, JSON.stringify(state, null, 2) + '\n', 0o600);

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await removeStateIfOurs(options.stateFile);
    await engine.close();
    resolveStopped();
  };
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(sig, () => void stop());
  options.onReady?.(state);
  return { engine, stopped };
}

/** Remove the state file only if it still describes this process (a newer engine may own it). */
async function removeStateIfOurs(stateFile: string): Promise<void> {
  try {
    const current = JSON.parse(await readFile(stateFile, 'utf8')) as EngineState;
    if (current.pid === process.pid) await rm(stateFile, { force: true });
  } catch {
    // Missing or unreadable: nothing of ours to remove.
  }
}

// The exec query (SPRITES-API.md §2) turned into what the session registry starts.
import { isAbsolute, posix } from 'node:path';
import type { SpriteDriver } from './driver.js';
import type { SpriteStore } from './store.js';
import type { StartRequest } from './sessions.js';
import { DEFAULT_NON_TTY_MAX_RUN_MS } from './sessions.js';
import { HttpError } from './http.js';
import { parseDuration } from '../protocol/duration.js';

export function flag(query: URLSearchParams, name: string): boolean | undefined {
  const v = query.get(name);
  if (v === null) return undefined;
  return v === 'true' || v === '1';
}

function dimension(query: URLSearchParams, name: string, fallback: number): number {
  const v = query.get(name);
  if (v === null || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 10000) throw new HttpError(400, 'invalid_request', `${name} must be an integer from 1 to 10000`);
  return n;
}

export function parseExecQuery(query: URLSearchParams, sprite: string, store: SpriteStore, driver: SpriteDriver): StartRequest {
  const cmd = query.getAll('cmd');
  if (cmd.length === 0) throw new HttpError(400, 'invalid_request', 'No command specified');
  const path = query.get('path');
  const argv = [path || cmd[0]!, ...cmd.slice(1)];
  const hostHome = store.homeDirOf(sprite);
  const defaults = driver.defaults(sprite, hostHome);
  const tty = flag(query, 'tty') ?? false;

  let env: Record<string, string>;
  const envItems = query.getAll('env');
  if (envItems.length > 0) {
    // Any env replaces the default environment entirely (the contract).
    env = {};
    for (const item of envItems) {
      const eq = item.indexOf('=');
      if (eq <= 0) throw new HttpError(400, 'invalid_request', `env ${JSON.stringify(item)} is not KEY=VALUE`);
      env[item.slice(0, eq)] = item.slice(eq + 1);
    }
  } else {
    env = { ...defaults.env };
    if (tty) env.TERM = 'xterm-256color';
  }

  const dir = query.get('dir');
  const cwd = dir ? (isAbsolute(dir) ? posix.normalize(dir) : posix.join(defaults.cwd, dir)) : defaults.cwd;

  let maxRun = tty ? 0 : DEFAULT_NON_TTY_MAX_RUN_MS;
  const maxRaw = query.get('max_run_after_disconnect');
  if (maxRaw !== null && maxRaw !== '') {
    const ms = parseDuration(maxRaw);
    if (ms === null) throw new HttpError(400, 'invalid_request', `max_run_after_disconnect ${JSON.stringify(maxRaw)} is not a duration (e.g. 30s, 5m, 0)`);
    maxRun = ms;
  }

  return {
    sprite,
    argv,
    env,
    cwd,
    tty,
    cols: dimension(query, 'cols', 80),
    rows: dimension(query, 'rows', 24),
    hostHome,
    maxRunAfterDisconnectMs: maxRun,
  };
}

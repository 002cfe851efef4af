// Token and API resolution (DESIGN.md "Tokens and targets"), the stored login, the .sprite file.
import { homedir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { readFileSync, statSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { spritesPaths, type SpritesPaths } from '../protocol/paths.js';
import { HOSTED_API, type ApiTarget } from './api.js';
import { AuthError, FileError, UsageError } from './errors.js';

export type Env = Record<string, string | undefined>;

export function paths(env: Env = process.env): SpritesPaths {
  return spritesPaths(env, homedir());
}

export interface StoredConfig {
  token?: string;
  api?: string;
}

export function configFile(env: Env = process.env): string {
  return join(paths(env).configDir, 'config.json');
}

/**
 * Read the stored config. A file that others can read is refused when it holds a token: a token
 * must not sit in a group- or world-readable file.
 */
export function readStoredConfig(env: Env = process.env): StoredConfig {
  const file = configFile(env);
  const config = readConfigObject(file);
  if (config.token !== undefined) {
    const mode = statSync(file).mode & 0o777;
    if (mode & 0o077) {
      throw new FileError(
        file,
        `config file ${file} holds a token and is readable by others (mode ${mode.toString(8)}); run: chmod 600 ${file}`,
      );
    }
  }
  return config;
}

/** The config file's object ({} when there is none); a file that is not one is a FileError naming it. */
function readConfigObject(file: string): StoredConfig {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new FileError(file, `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new FileError(file, `config file ${file} is not valid JSON (${(err as Error).message}); fix it or delete it and log in again`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new FileError(file, `config file ${file} must hold a JSON object; fix it or delete it`);
  }
  return parsed as StoredConfig;
}

/**
 * Write the stored config through conf (atomic write, mode 0600). The file is checked first, so a
 * corrupt one is reported by name instead of conf's bare parse error. Its mode is not checked: a
 * login is how a too-open file gets rewritten as 0600.
 */
export async function writeStoredConfig(update: StoredConfig | null, env: Env = process.env): Promise<void> {
  readConfigObject(configFile(env));
  const { default: Conf } = await import('conf');
  const store = new Conf<StoredConfig>({
    projectName: 'sprites',
    projectSuffix: '',
    cwd: paths(env).configDir,
    configName: 'config',
    configFileMode: 0o600,
  });
  if (update === null) store.clear();
  else {
    for (const [k, v] of Object.entries(update)) {
      if (v === undefined) store.delete(k as keyof StoredConfig);
      else store.set(k as keyof StoredConfig, v);
    }
  }
}

export interface TokenChoice {
  token: string;
  source: string;
}

export function resolveToken(env: Env = process.env): TokenChoice | undefined {
  if (env.SPRITES_TOKEN) return { token: env.SPRITES_TOKEN, source: 'SPRITES_TOKEN' };
  if (env.SPRITE_TOKEN) return { token: env.SPRITE_TOKEN, source: 'SPRITE_TOKEN' };
  const stored = readStoredConfig(env).token;
  if (stored) return { token: stored, source: `stored login (${configFile(env)})` };
  return undefined;
}

/** Enough of a token to recognise it, never enough to use it. */
export function maskToken(token: string): string {
  if (token.length <= 12) return '****';
  return `${token.slice(0, 4)}…${token.slice(-4)}`;
}

export type TargetPlan =
  | { kind: 'remote'; baseUrl: string; apiSource: string; token: TokenChoice | undefined }
  | { kind: 'local'; apiSource: string; implicit: boolean };

/** Decide where requests go, without starting anything. */
export function planTarget(apiFlag: string | undefined, env: Env = process.env): TargetPlan {
  const explicit =
    apiFlag !== undefined ? { value: apiFlag, source: '--api' } :
    env.SPRITES_API_URL ? { value: env.SPRITES_API_URL, source: 'SPRITES_API_URL' } :
    undefined;
  const fromConfig = explicit ? undefined : readStoredConfig(env).api;
  const chosen = explicit ?? (fromConfig ? { value: fromConfig, source: `config (${configFile(env)})` } : undefined);
  if (chosen) {
    if (chosen.value === 'local') return { kind: 'local', apiSource: chosen.source, implicit: false };
    return { kind: 'remote', baseUrl: normalizeBaseUrl(chosen.value, chosen.source), apiSource: chosen.source, token: resolveToken(env) };
  }
  const token = resolveToken(env);
  if (token) return { kind: 'remote', baseUrl: HOSTED_API, apiSource: 'default (a token is set)', token };
  if (env.CI) {
    throw new AuthError(
      'CI is set but no token is: set SPRITES_TOKEN for the hosted API, or pass --api local (or SPRITES_API_URL=local) to use the local engine',
    );
  }
  return { kind: 'local', apiSource: 'default (no token set)', implicit: true };
}

export function normalizeBaseUrl(value: string, source: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${source}: ${JSON.stringify(value)} is not a URL; use http(s)://HOST[:PORT] or "local"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${source}: ${JSON.stringify(value)} must be an http:// or https:// URL, or "local"`);
  }
  return url.toString().replace(/\/+$/, '');
}

export function remoteTarget(plan: Extract<TargetPlan, { kind: 'remote' }>): ApiTarget {
  return {
    baseUrl: plan.baseUrl,
    token: plan.token?.token,
    tokenSource: plan.token?.source ?? 'no token',
    isLocal: false,
  };
}

// The .sprite context file: {"sprite": "...", "organization": "..."} in this directory or a parent.
export const CONTEXT_FILE = '.sprite';

export interface SpriteContext {
  sprite: string;
  organization?: string;
  file: string;
}

export function findContext(cwd = process.cwd()): SpriteContext | undefined {
  let dir = resolve(cwd);
  for (;;) {
    const file = join(dir, CONTEXT_FILE);
    if (existsSync(file)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(file, 'utf8'));
      } catch (err) {
        throw new FileError(file, `context file ${file} is not valid JSON (${(err as Error).message}); fix it or run: sprites use --unset`);
      }
      const ctx = parsed as { sprite?: unknown; organization?: unknown };
      if (typeof ctx?.sprite !== 'string' || ctx.sprite === '') {
        throw new FileError(file, `context file ${file} has no "sprite" name; fix it or run: sprites use --unset`);
      }
      return { sprite: ctx.sprite, organization: typeof ctx.organization === 'string' ? ctx.organization : undefined, file };
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

export function writeContext(sprite: string, organization: string | undefined, cwd = process.cwd()): string {
  const file = join(resolve(cwd), CONTEXT_FILE);
  writeFileSync(file, JSON.stringify({ sprite, ...(organization ? { organization } : {}) }) + '\n');
  return file;
}

export function removeContext(cwd = process.cwd()): string | undefined {
  const file = join(resolve(cwd), CONTEXT_FILE);
  if (!existsSync(file)) return undefined;
  rmSync(file);
  return file;
}

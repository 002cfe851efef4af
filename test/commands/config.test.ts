// Token and API resolution, auth login/status/logout, the .sprite context, the local engine commands.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isolatedEnv, runCli, startEngine, type Env, type TestEngine } from '../helpers/cli.js';

const HOSTED = 'https://api.sprites.dev';
const SECRET = 'tok_abcdefghijklmnopqrstuvwxyz0123456789';

interface AuthStatus {
  api: string;
  api_source: string;
  token_source: string | null;
  token: string | null;
}

async function status(env: Env, args: string[] = []): Promise<AuthStatus> {
  const r = await runCli(['auth', 'status', '--json', ...args], { env });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as AuthStatus;
}

const homes: Array<{ cleanup(): void }> = [];
/** A throwaway home, removed after the file's tests. */
function fresh(): Env {
  const home = isolatedEnv();
  homes.push(home);
  return home.env;
}
afterAll(() => homes.forEach((h) => h.cleanup()));

function configPath(env: Env): string {
  return join(env.XDG_CONFIG_HOME!, 'sprites', 'config.json');
}

function writeConfig(env: Env, value: object): void {
  mkdirSync(join(env.XDG_CONFIG_HOME!, 'sprites'), { recursive: true });
  writeFileSync(configPath(env), JSON.stringify(value), { mode: 0o600 });
  chmodSync(configPath(env), 0o600);
}

describe('token and API resolution', () => {
  const home = isolatedEnv();
  afterAll(() => home.cleanup());

  it('follows the documented order for the API and the token', async () => {
    const env = home.env;
    writeConfig(env, { api: 'http://127.0.0.1:9001/', token: 'stored-token-123456789' });
    const results = await Promise.all([
      status({ ...env, SPRITES_API_URL: 'http://127.0.0.1:9002', SPRITES_TOKEN: 'env-token-1234567890', SPRITE_TOKEN: 'legacy-token-1234567890' }, ['--api', 'http://127.0.0.1:9003']),
      status({ ...env, SPRITES_API_URL: 'http://127.0.0.1:9002', SPRITE_TOKEN: 'legacy-token-1234567890' }),
      status(env),
    ]);
    expect(results[0]).toMatchObject({ api: 'http://127.0.0.1:9003', api_source: '--api', token_source: 'SPRITES_TOKEN', token: 'env-…7890' });
    expect(results[1]).toMatchObject({ api: 'http://127.0.0.1:9002', api_source: 'SPRITES_API_URL', token_source: 'SPRITE_TOKEN' });
    expect(results[2].api).toBe('http://127.0.0.1:9001');
    expect(results[2].api_source).toMatch(/^config/);
    expect(results[2].token_source).toMatch(/^stored login/);
    // Without an API anywhere: a token means the hosted API, no token means the local engine.
    writeConfig(env, { token: 'stored-token-123456789' });
    const [hosted, local, ciRefused, ciLocal, ciToken] = await Promise.all([
      status(env),
      status({ ...fresh() }),
      runCli(['auth', 'status'], { env: { ...fresh(), CI: '1' } }),
      status({ ...fresh(), CI: '1' }, ['--api', 'local']),
      status({ ...fresh(), CI: '1', SPRITES_TOKEN: 'env-token-1234567890' }),
    ]);
    expect(hosted).toMatchObject({ api: HOSTED, token_source: expect.stringMatching(/^stored login/) });
    expect(local).toMatchObject({ api: 'local', api_source: 'default (no token set)' });
    expect(ciRefused.code).toBe(4);
    expect(ciRefused.stderr).toMatch(/CI is set but no token/);
    expect(ciLocal).toMatchObject({ api: 'local', api_source: '--api' });
    expect(ciToken).toMatchObject({ api: HOSTED, token_source: 'SPRITES_TOKEN' });
  });

  it('refuses a bad --api value with exit 2', async () => {
    const r = await runCli(['list', '--api', 'ftp://x'], { env: home.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--api: "ftp:\/\/x" must be an http/);
  });

  it('SPRITES_CONFIG_DIR overrides where the config lives', async () => {
    const dir = join(home.dir, 'elsewhere');
    const r = await runCli(['auth', 'login', '--with-token'], { env: { ...home.env, SPRITES_CONFIG_DIR: dir }, input: 'tok-in-elsewhere-123\n' });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))).toEqual({ token: 'tok-in-elsewhere-123' });
  });
});

describe('auth', () => {
  const home = isolatedEnv();
  afterAll(() => home.cleanup());

  it('login reads the token from stdin into a 0600 file; status masks it; logout forgets it', async () => {
    const env = home.env;
    const login = await runCli(['auth', 'login', '--with-token'], { env, input: `  ${SECRET}\n` });
    expect(login.code, login.stderr).toBe(0);
    expect(statSync(configPath(env)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(configPath(env), 'utf8'))).toEqual({ token: SECRET });
    const [human, json] = await Promise.all([runCli(['auth', 'status'], { env }), runCli(['auth', 'status', '--json'], { env })]);
    for (const r of [login, human, json]) expect(r.stdout + r.stderr).not.toContain(SECRET);
    expect(human.stdout).toMatch(/tok_…6789/);
    expect(JSON.parse(json.stdout)).toMatchObject({ api: HOSTED, token: 'tok_…6789' });
    const logout = await runCli(['auth', 'logout'], { env });
    expect(logout.code).toBe(0);
    expect(logout.stderr).toMatch(/Removed the stored token/);
    expect(JSON.parse(readFileSync(configPath(env), 'utf8'))).toEqual({});
    expect(await status(env)).toMatchObject({ api: 'local', token: null });
    const again = await runCli(['auth', 'logout'], { env });
    expect(again.stderr).toMatch(/No stored token/);
  });

  it('never takes the token as a flag or an argument, and refuses empty stdin', async () => {
    const env = home.env;
    const [noFlag, asArg, asFlag, empty] = await Promise.all([
      runCli(['auth', 'login'], { env, input: SECRET }),
      runCli(['auth', 'login', '--with-token', SECRET], { env }),
      runCli(['auth', 'login', `--token=${SECRET}`], { env }),
      runCli(['auth', 'login', '--with-token'], { env, input: '\n' }),
    ]);
    for (const r of [noFlag, asArg, asFlag, empty]) expect(r.code).toBe(2);
    expect(empty.stderr).toMatch(/no token on stdin/);
    expect(existsSync(configPath(env)) ? readFileSync(configPath(env), 'utf8') : '').not.toContain(SECRET);
  });

  it('refuses a group- or world-readable config file that holds a token, saying how to fix it', async () => {
    const env = fresh();
    writeConfig(env, { token: SECRET });
    chmodSync(configPath(env), 0o644);
    const r = await runCli(['list'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`chmod 600 ${configPath(env)}`);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    chmodSync(configPath(env), 0o640);
    expect((await runCli(['auth', 'status'], { env })).code).toBe(1);
    // Logging in again rewrites the file as 0600.
    const relogin = await runCli(['auth', 'login', '--with-token'], { env, input: `${SECRET}\n` });
    expect(relogin.code, relogin.stderr).toBe(0);
    expect(statSync(configPath(env)).mode & 0o777).toBe(0o600);
    expect((await runCli(['auth', 'status'], { env })).code).toBe(0);
  });

  it('a corrupt config file is reported by name by login and logout too', async () => {
    const env = fresh();
    writeConfig(env, {});
    writeFileSync(configPath(env), '{"token": ');
    const [login, logout] = await Promise.all([
      runCli(['auth', 'login', '--with-token'], { env, input: `${SECRET}\n` }),
      runCli(['auth', 'logout'], { env }),
    ]);
    for (const r of [login, logout]) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`config file ${configPath(env)} is not valid JSON`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(readFileSync(configPath(env), 'utf8')).toBe('{"token": ');
  });
});

describe('with a running engine', () => {
  let engine: TestEngine & { cleanup(): void };
  beforeAll(async () => {
    engine = await startEngine();
  });
  afterAll(() => engine?.cleanup());

  it('use NAME writes .sprite; commands use it when NAME is omitted, from subdirectories too; use --unset removes it', async () => {
    const dir = join(engine.env.HOME!, 'project');
    const sub = join(dir, 'src', 'deep');
    mkdirSync(sub, { recursive: true });
    await runCli(['create', 'ctx-one'], { env: engine.env });
    const missing = await runCli(['get'], { env: engine.env, cwd: dir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/sprites use NAME/);
    const use = await runCli(['use', 'ctx-one'], { env: engine.env, cwd: dir });
    expect(use.code).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, '.sprite'), 'utf8'))).toEqual({ sprite: 'ctx-one' });
    const [get, update] = await Promise.all([
      runCli(['get', '--json'], { env: engine.env, cwd: sub }),
      runCli(['update', '--label', 'from-ctx', '--json'], { env: engine.env, cwd: dir }),
    ]);
    expect(JSON.parse(get.stdout)).toMatchObject({ name: 'ctx-one' });
    expect(JSON.parse(update.stdout)).toMatchObject({ name: 'ctx-one', labels: ['from-ctx'] });
    const badName = await runCli(['use', 'Bad'], { env: engine.env, cwd: dir });
    expect(badName.code).toBe(2);
    const unset = await runCli(['use', '--unset'], { env: engine.env, cwd: dir });
    expect(unset.code).toBe(0);
    expect(existsSync(join(dir, '.sprite'))).toBe(false);
    writeFileSync(join(dir, '.sprite'), '{oops');
    const corrupt = await runCli(['get'], { env: engine.env, cwd: sub });
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toContain(join(dir, '.sprite'));
  });

  it('--api local finds the running engine through its state file', async () => {
    await runCli(['create', 'via-url'], { env: engine.env });
    const r = await runCli(['list', '--json'], { env: engine.localEnv });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/Started/);
    expect((JSON.parse(r.stdout) as Array<{ name: string }>).map((s) => s.name)).toContain('via-url');
  });

  it('--debug traces requests to stderr with the token redacted', async () => {
    const r = await runCli(['get', 'via-url', '--debug'], { env: engine.env });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/\[debug\] --> GET http:\/\/127\.0\.0\.1:\d+\/v1\/sprites\/via-url/);
    expect(r.stderr).toMatch(/\[debug\] <-- 200 GET/);
    expect(r.stdout + r.stderr).not.toContain(engine.token);
    const failing = await runCli(['get', 'via-url', '--debug'], { env: { ...engine.env, SPRITES_TOKEN: SECRET } });
    expect(failing.code).toBe(4);
    expect(failing.stdout + failing.stderr).not.toContain(SECRET);
  });

  it('local status reports the running engine (--json)', async () => {
    const r = await runCli(['local', 'status', '--json'], { env: engine.env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ running: true, url: engine.url, pid: engine.pid });
    expect(r.stdout).not.toContain(engine.token);
  });
});

describe('local start / status / stop and on-demand start', () => {
  it('starts on demand, replaces a stale state file, and start/status/stop work', async () => {
    const home = isolatedEnv();
    const env = home.env;
    const stateFile = join(env.XDG_STATE_HOME!, 'sprites', 'engine.json');
    try {
      const none = await runCli(['local', 'status', '--json'], { env });
      expect(none.code).toBe(1);
      expect(JSON.parse(none.stdout)).toMatchObject({ running: false });
      // A stale state file: a pid that is certainly dead, a port nobody listens on.
      const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
      mkdirSync(join(env.XDG_STATE_HOME!, 'sprites'), { recursive: true });
      writeFileSync(stateFile, JSON.stringify({ url: 'http://127.0.0.1:9', token: 'stale', pid: Number(dead), data_dir: '/nowhere', started_at: '', version: '' }));
      const created = await runCli(['create', 'on-demand'], { env: { ...env, SPRITES_API_URL: 'local' } });
      expect(created.code, created.stderr).toBe(0);
      expect(created.stderr).toMatch(/Started the local engine at http:\/\/127\.0\.0\.1:\d+/);
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { pid: number; token: string };
      expect(state.pid).not.toBe(Number(dead));
      expect(statSync(stateFile).mode & 0o777).toBe(0o600);
      // Implicit local (no token, no API) uses the same engine and does not start another.
      const listed = await runCli(['list'], { env });
      expect(listed.stdout).toBe('on-demand\n');
      expect(listed.stderr).not.toMatch(/Started/);
      const start = await runCli(['local', 'start', '--json'], { env });
      expect(JSON.parse(start.stdout)).toMatchObject({ started: false, pid: state.pid });
      const st = await runCli(['local', 'status', '--json'], { env });
      expect(JSON.parse(st.stdout)).toMatchObject({ running: true, pid: state.pid, sprites: 1 });
      const stop = await runCli(['local', 'stop', '--json'], { env });
      expect(JSON.parse(stop.stdout)).toEqual({ stopped: true, pid: state.pid });
      expect(existsSync(stateFile)).toBe(false);
      const after = await runCli(['local', 'status'], { env });
      expect(after.code).toBe(1);
      expect(after.stderr).toMatch(/No local engine is running/);
      // local start (detached) then stop again; the sprite survived the restart.
      const started = await runCli(['local', 'start', '--json'], { env });
      expect(started.code, started.stderr).toBe(0);
      expect(JSON.parse(started.stdout)).toMatchObject({ started: true });
      expect((await runCli(['list'], { env })).stdout).toBe('on-demand\n');
    } finally {
      await runCli(['local', 'stop'], { env });
      home.cleanup();
    }
  });
});

describe('engine discovery edge cases', () => {
  it('concurrent commands on a fresh home start exactly one engine', async () => {
    const env = fresh();
    try {
      const runs = await Promise.all([1, 2, 3].map((i) => runCli(['create', `racer-${i}`, '--api', 'local'], { env })));
      for (const r of runs) expect(r.code, r.stderr).toBe(0);
      expect(runs.filter((r) => /Started the local engine/.test(r.stderr))).toHaveLength(1);
      const listed = await runCli(['list'], { env });
      expect(listed.stdout).toBe('racer-1\nracer-2\nracer-3\n');
    } finally {
      await runCli(['local', 'stop'], { env });
    }
  });

  it('an engine that is alive but slow to answer is waited for, never replaced by a second one', async () => {
    const env = fresh();
    try {
      const started = await runCli(['local', 'start', '--json'], { env });
      expect(started.code, started.stderr).toBe(0);
      const { pid } = JSON.parse(started.stdout) as { pid: number };
      // A stopped engine accepts connections (the kernel does) but answers nothing, as one on a
      // machine too loaded to schedule it would; the discovery probe times out after 2 s.
      process.kill(pid, 'SIGSTOP');
      const listing = runCli(['list', '--json'], { env });
      // The scenario: the engine stays silent past two probe timeouts (2 s each), then recovers.
      await new Promise((resolve) => setTimeout(resolve, 5000));
      process.kill(pid, 'SIGCONT');
      const r = await listing;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/Started/);
      const state = JSON.parse(readFileSync(join(env.XDG_STATE_HOME!, 'sprites', 'engine.json'), 'utf8')) as { pid: number };
      expect(state.pid).toBe(pid);
    } finally {
      await runCli(['local', 'stop'], { env });
    }
  });

  it('local stop never signals an unrelated process that took a dead engine\'s pid', async () => {
    const env = fresh();
    const bystander = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const stateFile = join(env.XDG_STATE_HOME!, 'sprites', 'engine.json');
      mkdirSync(join(env.XDG_STATE_HOME!, 'sprites'), { recursive: true });
      writeFileSync(stateFile, JSON.stringify({ url: 'http://127.0.0.1:9', token: 'x', pid: bystander.pid, data_dir: '/x', started_at: '', version: '' }));
      const r = await runCli(['local', 'stop'], { env });
      expect(r.code).toBe(0);
      expect(r.stderr).toMatch(/No local engine is running/);
      expect(existsSync(stateFile)).toBe(false);
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();
      expect(process.kill(bystander.pid!, 0)).toBe(true);
    } finally {
      bystander.kill('SIGKILL');
    }
  });
});

// Engine faults around exec: a client that vanishes mid-exec, a thousand short execs (file
// descriptors and memory must not grow), and the engine killed with SIGKILL during an exec.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, engineFetch, isolatedEnv, startEngine, type TestEngine } from '../helpers/cli.js';
import { eventually, execUrl, openExec } from './exec-client.js';

const base = isolatedEnv();
let engine: TestEngine & { cleanup(): void };

beforeAll(async () => {
  engine = await startEngine(base);
  const res = await engineFetch(engine, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name: 'faults' }) });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await engine?.kill();
  base.cleanup();
});

/** Host pids whose argv is exactly `argv` (sandboxed processes are visible from the host too). */
function pidsRunning(argv: string[]): number[] {
  const want = argv.join('\0') + '\0';
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'latin1') === want && !isZombie(Number(entry))) found.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return found;
}

function isZombie(pid: number): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
}

/** Zombie children of `parent`: processes it failed to reap. */
function zombieChildren(parent: number): number[] {
  const zombies: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' && Number(fields[1]) === parent) zombies.push(Number(entry));
    } catch {
      // Gone while we looked.
    }
  }
  return zombies;
}

const fdCount = (pid: number) => readdirSync(`/proc/${pid}/fd`).length;
const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);

async function activeSessions(e: TestEngine, sprite: string): Promise<number> {
  const body = (await (await engineFetch(e, `/v1/sprites/${sprite}/exec`)).json()) as { sessions: Array<{ is_active: boolean }> };
  return body.sessions.filter((s) => s.is_active).length;
}

/** One short exec over a raw WebSocket; resolves with its stdout and exit code. */
async function shortExec(e: TestEngine, i: number): Promise<{ stdout: string; code: number | undefined }> {
  const ex = await openExec(e, execUrl(e, 'faults', [['cmd', 'echo'], ['cmd', `n${i}`], ['path', 'echo'], ['stdin', 'false']]));
  await ex.waitFor(() => ex.exitCode() !== undefined, `exit of exec ${i}`);
  ex.ws.close(1000);
  await ex.closed;
  return { stdout: ex.stdout(), code: ex.exitCode() };
}

async function execMany(e: TestEngine, count: number, concurrency: number): Promise<number> {
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const r = await shortExec(e, i);
      if (r.code !== 0 || r.stdout !== `n${i}\n`) failures++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failures;
}

describe('engine faults around exec', () => {
  it('a client that disconnects mid-exec: its processes are gone after max_run_after_disconnect, no zombies left', async () => {
    // Sleep lengths of their own, so no other run's processes can be mistaken for these.
    const base = 30_000 + 2 * Math.floor(Math.random() * 15_000);
    const marker = ['sleep', String(base)];
    const child = ['sleep', String(base + 1)];
    const ex = await openExec(
      engine,
      execUrl(engine, 'faults', [
        ['cmd', 'sh'],
        ['cmd', '-c'],
        ['cmd', `sleep ${base + 1} & echo ready; sleep ${base}`],
        ['path', 'sh'],
        ['max_run_after_disconnect', '1s'],
      ]),
    );
    try {
      await ex.waitFor(() => ex.stdout().includes('ready'), 'ready');
      // The background child may not have exec'd sleep yet when "ready" arrives.
      await eventually(async () => (pidsRunning(marker).length === 1 && pidsRunning(child).length === 1 ? true : undefined), 'both sleeps to run');
    } finally {
      ex.ws.terminate();
    }
    // 1 s of grace, then TERM (and KILL 5 s later if need be): wait for that, with room to spare.
    await eventually(async () => (pidsRunning(marker).length + pidsRunning(child).length === 0 ? true : undefined), 'the disconnected command to be stopped', 20_000);
    await eventually(async () => ((await activeSessions(engine, 'faults')) === 0 ? true : undefined), 'no active session');
    await eventually(async () => (zombieChildren(engine.pid).length === 0 ? true : undefined), 'no zombie children of the engine');
  });

  it('1,000 short execs: the engine\'s file descriptors and memory stay flat', async () => {
    // Warm-up: JIT, pools and buffers reach their working size first.
    expect(await execMany(engine, 100, 8)).toBe(0);
    await eventually(async () => ((await activeSessions(engine, 'faults')) === 0 ? true : undefined), 'warm-up sessions to end');
    const fdsBefore = fdCount(engine.pid);
    const rssBefore = rssKiB(engine.pid);
    expect(await execMany(engine, 1000, 8)).toBe(0);
    await eventually(async () => ((await activeSessions(engine, 'faults')) === 0 ? true : undefined), 'all sessions to end');
    // Sockets of the last execs may still be closing: wait until the count settles, never for a time.
    const settled = await eventually(async () => {
      const n = fdCount(engine.pid);
      return n <= fdsBefore + 8 ? n : undefined;
    }, `fd count back near ${fdsBefore} (now ${fdCount(engine.pid)})`).catch(() => fdCount(engine.pid));
    expect(settled).toBeLessThanOrEqual(fdsBefore + 8);
    // Finished sessions stay listed for a minute (exit codes), so some growth is expected; a leak
    // of a pipe buffer or a process handle per exec would exceed this.
    expect(rssKiB(engine.pid) - rssBefore).toBeLessThan(96 * 1024);
    expect(zombieChildren(engine.pid)).toEqual([]);
  }, 120_000);

  it('the engine killed with SIGKILL during an exec: the CLI exits 255, the sprite survives, the engine starts cleanly', async () => {
    const write = await shortExecCli(engine, ['sh', '-c', 'echo kept > survivor.txt && echo written']);
    expect(write.stdout).toBe('written\n');
    // A sleep length of its own, so no other run's process can be mistaken for this one.
    const marker = String(30_000 + Math.floor(Math.random() * 30_000));
    const cli = spawn(process.execPath, [BIN, 'exec', 'faults', '--', 'sh', '-c', `echo started; sleep ${marker}`], { env: engine.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (c: Buffer) => (stdout += c));
    cli.stderr.on('data', (c: Buffer) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => cli.once('close', (code) => resolve(code)));
    await eventually(async () => (stdout.includes('started') ? true : undefined), 'the exec to start');
    await engine.kill();
    expect(await exited).toBe(255);
    expect(stderr).toMatch(/^Error: connection to sprite faults lost before the command finished/m);
    expect(stderr).not.toMatch(/^\s+at /m);

    engine = await startEngine(base);
    const got = await engineFetch(engine, '/v1/sprites/faults');
    expect(got.status).toBe(200);
    expect(((await got.json()) as { status: string }).status).not.toBe('running');
    expect(await activeSessions(engine, 'faults')).toBe(0);
    const read = await shortExecCli(engine, ['cat', 'survivor.txt']);
    expect(read).toEqual({ code: 0, stdout: 'kept\n' });
    // Nothing the killed engine ran is left: under the sandbox driver the sprite's processes die
    // with their engine; the host driver's next engine kills the process groups it had recorded.
    await eventually(async () => (pidsRunning(['sleep', marker]).length === 0 ? true : undefined), 'the orphaned command to be gone', 20_000);
  }, 60_000);
});

function shortExecCli(e: TestEngine, argv: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'exec', 'faults', '--', ...argv], { env: e.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.once('close', (code) => resolve({ code, stdout }));
  });
}

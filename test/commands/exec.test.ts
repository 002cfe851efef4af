// `sprites exec` piped (no TTY): the real binary against a real engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { BIN, ROOT, runCli, spriteHomePattern, startEngine, type TestEngine } from '../helpers/cli.js';

let engine: TestEngine & { cleanup(): void };
const S = 'box';

beforeAll(async () => {
  engine = await startEngine();
  const made = await runCli(['create', S], { env: engine.env });
  expect(made.code).toBe(0);
});

afterAll(async () => {
  await engine?.stop();
  engine?.cleanup();
});

const exec = (args: string[], input?: string | Buffer) => runCli(['exec', S, ...args], { env: engine.env, input });
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('sprites exec (piped)', () => {
  it('round-trips 10 MiB of random bytes through stdin → cat → stdout', async () => {
    const data = randomBytes(10 * 1024 * 1024);
    const r = await exec(['--', 'cat'], data);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdoutBytes.byteLength).toBe(data.byteLength);
    expect(sha(r.stdoutBytes)).toBe(sha(data));
  });

  it('takes the name from .sprite even with piped stdin, which exec forwards untouched (oclif must not read it as the name)', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'sprites-ctx-'));
    try {
      writeFileSync(join(dir, '.sprite'), JSON.stringify({ sprite: S }));
      const r = await runCli(['exec', '--', 'cat'], { env: engine.env, input: 'other-sprite\nline two\n', cwd: dir });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('other-sprite\nline two\n');
      const got = await runCli(['get', '--json'], { env: engine.env, input: 'other-sprite\n', cwd: dir });
      expect(got.code).toBe(0);
      expect(JSON.parse(got.stdout).name).toBe(S);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('round-trips 10 MiB through the local engine found by its state file (unmasked frames on loopback)', async () => {
    const data = randomBytes(10 * 1024 * 1024);
    const r = await runCli(['exec', S, '--', 'cat'], { env: engine.localEnv, input: data });
    expect(r.code).toBe(0);
    expect(r.stdoutBytes.byteLength).toBe(data.byteLength);
    expect(sha(r.stdoutBytes)).toBe(sha(data));
  });

  it('streams large stdout and stderr at once, each exact (big pipe reads, frames made in place, slab reads)', async () => {
    // The same random 6 MiB (as base64 text) on both streams: the engine reads each pipe in
    // chunks of up to 256 KiB into one reused buffer, and the CLI reads the socket into slabs.
    const r = await exec(['--', 'sh', '-c', 'f=$(mktemp) && head -c 4718592 /dev/urandom | base64 > "$f" && { cat "$f" & cat "$f" >&2; wait; rm "$f"; }']);
    expect(r.code).toBe(0);
    expect(r.stdout.length).toBeGreaterThan(6 * 1024 * 1024);
    expect(r.stdout).toMatch(/^[A-Za-z0-9+/=\n]+$/);
    expect(sha(Buffer.from(r.stderr))).toBe(sha(r.stdoutBytes));
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await exec(['--', 'sh', '-c', 'echo one; echo two >&2; echo three']);
    expect(r.stdout).toBe('one\nthree\n');
    expect(r.stderr).toBe('two\n');
  });

  it.each([0, 1, 2, 127, 255])('passes exit code %i through', async (code) => {
    const r = await exec(['--', 'sh', '-c', `exit ${code}`]);
    expect(r.code).toBe(code);
  });

  it('reports a signal death as 128+n and a missing program as 127', async () => {
    expect((await exec(['--', 'sh', '-c', 'kill -KILL $$'])).code).toBe(137);
    const missing = await exec(['--', 'no-such-program-xyz']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('no-such-program-xyz');
  });

  it('-e adds variables on top of a base that keeps PATH and HOME; -w sets the directory', async () => {
    const r = await exec(['-e', 'GREETING=a,b=c', '-e', 'EMPTY=', '-w', '/tmp', '--', 'sh', '-c', 'echo "$GREETING|$EMPTY|$HOME"; pwd; command -v sh >/dev/null && echo has-path']);
    expect(r.code).toBe(0);
    const [vars, pwd, path] = r.stdout.trim().split('\n');
    const [greeting, empty, home] = vars!.split('|');
    expect([greeting, empty]).toEqual(['a,b=c', '']);
    expect(home).toMatch(await spriteHomePattern(engine, S));
    expect(pwd).toBe('/tmp');
    expect(path).toBe('has-path');
  });

  it('forwards piped stdin and its EOF; sends EOF at once when stdin is empty', async () => {
    const r = await exec(['--', 'sh', '-c', 'cat; echo done'], 'line1\nline2\n');
    expect(r.stdout).toBe('line1\nline2\ndone\n');
    const empty = await exec(['--', 'cat'], '');
    expect(empty.code).toBe(0);
    expect(empty.stdout).toBe('');
  });

  it('--json prints exit_code, stdout, stderr and duration_ms and passes the exit code', async () => {
    const r = await exec(['--json', '--', 'sh', '-c', 'printf out; printf "err\\377" >&2; exit 3']);
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(doc).toMatchObject({ exit_code: 3, stdout: 'out', stderr: 'err\ufffd' });
    expect(typeof doc.duration_ms).toBe('number');
  });

  it('--timeout stops the remote command and exits 124', async () => {
    const r = await exec(['--timeout', '300ms', '--', 'sleep', '30']);
    expect(r.code).toBe(124);
  });

  it('--http round-trips 10 MiB of random bytes exactly (frames are read chunk by chunk)', async () => {
    const data = randomBytes(10 * 1024 * 1024);
    const r = await exec(['--http', '--', 'cat'], data);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdoutBytes.byteLength).toBe(data.byteLength);
    expect(sha(r.stdoutBytes)).toBe(sha(data));
  });

  it('--http gives the same output and exit code as the WebSocket path', async () => {
    const args = ['--', 'sh', '-c', 'cat; echo to-err >&2; exit 6'];
    const ws = await exec(args, 'input\n');
    const http = await exec(['--http', ...args], 'input\n');
    expect(http.stdout).toBe(ws.stdout);
    expect(http.stderr).toBe(ws.stderr);
    expect(http.code).toBe(6);
    expect(ws.code).toBe(6);
  });

  it('`exec -- yes | head -1` returns at once with no error', async () => {
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', `"${process.execPath}" "${BIN}" exec ${S} -- yes | head -1`], { env: engine.env, cwd: ROOT });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c));
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.stdout).toBe('y\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('fails with 255 and one line when the sprite does not exist or no command is given', async () => {
    const missing = await runCli(['exec', 'nosuch', '--', 'true'], { env: engine.env });
    expect(missing.code).toBe(255);
    expect(missing.stderr.trim()).toBe('Error: no sprite named nosuch');
    const noCmd = await runCli(['exec', S], { env: engine.env });
    expect(noCmd.code).toBe(255);
    expect(noCmd.stderr).toContain('missing command');
  });
});

/** Wait for a condition (checked every 20 ms) or fail naming what did not happen. */
async function until(test: () => boolean, what: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Start `sprites exec` and resolve once its stdout shows `ready`. */
function startExec(env: Record<string, string>, sprite: string, argv: string[]) {
  const child = spawn(process.execPath, [BIN, 'exec', sprite, '--', ...argv], { env, cwd: ROOT });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  const ready = new Promise<void>((resolve) =>
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
      if (stdout.includes('ready')) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, ready, exited, out: () => stdout, err: () => stderr };
}

describe('sprites exec and local signals', () => {
  it('forwards the first Ctrl-C (SIGINT) and SIGTERM to the remote command and waits for its code', async () => {
    for (const [signal, name] of [['SIGINT', 'INT'], ['SIGTERM', 'TERM']] as const) {
      const run = startExec(engine.env, S, ['sh', '-c', `trap "echo got-${name}; exit 9" ${name}; echo ready; while :; do sleep 0.05; done`]);
      await run.ready;
      run.child.kill(signal);
      expect(await run.exited).toBe(9);
      expect(run.out()).toContain(`got-${name}`);
    }
  });

  it('a second Ctrl-C stops waiting and exits 130', async () => {
    const run = startExec(engine.env, S, ['sh', '-c', 'trap "echo ignored" INT; echo ready; while :; do sleep 0.05; done']);
    await run.ready;
    run.child.kill('SIGINT');
    await until(() => run.out().includes('ignored'), () => `the remote trap to run; stdout=${JSON.stringify(run.out())} stderr=${JSON.stringify(run.err())}`);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
  });
});

describe('sprites exec and ports', () => {
  it('--port-forward reacts to port_opened with a notice naming the port', async () => {
    const script = 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], "ready", flush=True); sys.stdin.read()';
    const child = spawn(process.execPath, [BIN, 'exec', S, '--port-forward', '--', 'python3', '-c', script], { env: engine.env, cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    const exited = new Promise((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (c: Buffer) => {
        stderr += c;
        if (/port \d+ opened in box/.test(stderr)) resolve();
      }),
    );
    // On the host driver the sprite's port is this machine's, so the forward itself reports it in use.
    expect(stderr).toContain(`port ${stdout.split(' ')[0]} opened in box`);
    child.stdin.end();
    expect(await exited).toBe(0);
  });
});

describe('sprites exec when the engine dies', () => {
  it('exits 255 promptly with a message when the engine is killed mid-stream', async () => {
    const own = await startEngine();
    try {
      expect((await runCli(['create', 'doomed'], { env: own.env })).code).toBe(0);
      const child = spawn(process.execPath, [BIN, 'exec', 'doomed', '--', 'sh', '-c', 'while :; do echo tick; sleep 0.05; done'], { env: own.env, cwd: ROOT });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c));
      const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.stdout.resume();
      await own.kill();
      expect(await exited).toBe(255);
      expect(stderr).toMatch(/connection to sprite doomed lost/);
    } finally {
      own.cleanup();
    }
  });
});

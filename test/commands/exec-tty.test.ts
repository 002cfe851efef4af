// `sprites exec` at a terminal: the real binary under a real PTY, against a real engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, runCli, startEngine, type TestEngine } from '../helpers/cli.js';
import { runCliPty, spawnPty } from '../helpers/pty.js';

let engine: TestEngine & { cleanup(): void };
const S = 'term';

beforeAll(async () => {
  engine = await startEngine();
  expect((await runCli(['create', S], { env: engine.env })).code).toBe(0);
});

afterAll(async () => {
  await engine?.stop();
  engine?.cleanup();
});

describe('sprites exec at a terminal', () => {
  it('does not wait on an open terminal when stdin is not forwarded', async () => {
    const run = runCliPty(['exec', S, '--', 'sh', '-c', 'cat; echo after-cat'], { env: engine.env });
    await run.waitFor('after-cat');
    expect((await run.exited).exitCode).toBe(0);
  });

  it('-t: remote prompt, stty size follows a resize, Ctrl-C reaches the remote program, exit codes pass', async () => {
    const run = runCliPty(['exec', S, '-t', '--', 'sh', '-i'], { env: { ...engine.env, PS1: 'unused' }, cols: 80, rows: 24 });
    await run.waitFor(/[$#] $/);
    run.write('stty size\r');
    await run.waitFor('24 80');
    run.resize(100, 30);
    // The resize travels as SIGWINCH → resize message, apart from the keystrokes: ask until it lands.
    const ask = setInterval(() => run.write('stty size\r'), 200);
    try {
      await run.waitFor('30 100');
    } finally {
      clearInterval(ask);
    }
    // The words waited for are split in the source, so the terminal's echo of it cannot match.
    // The handler writes with os.write and leaves with os._exit: print() in a signal handler can
    // raise "reentrant call" when a second signal lands while it runs.
    run.write(`python3 -c 'import os,signal,time; signal.signal(signal.SIGINT, lambda *a: (os.write(1, b"got-" b"interrupt\\n"), os._exit(0))); print("sle" + "eping", flush=True); time.sleep(30)'\r`);
    await run.waitFor('sleeping');
    run.write('\x03');
    await run.waitFor('got-interrupt');
    // (An interactive shell's own `exit N` is not used: under the sandbox driver, sh -i cannot
    // restore the terminal's process group and reports 2.)
    run.write('kill -KILL $$\r');
    expect((await run.exited).exitCode).toBe(137);
    const plain = runCliPty(['exec', S, '-t', '--', 'sh', '-c', 'exit 7'], { env: engine.env });
    expect((await plain.exited).exitCode).toBe(7);
  });

  it('-t restores the terminal modes on exit', async () => {
    const script = `stty -g; "${process.execPath}" "${BIN}" exec ${S} -t -- sh -c 'exit 3'; echo "rc=$?"; stty -g`;
    const run = spawnPty('sh', ['-c', script], { env: engine.env });
    await run.exited;
    const out = run.output();
    expect(out).toContain('rc=3');
    const modes = out.split(/\r?\n/).filter((l) => /^[0-9a-f]+(:[0-9a-f]+){10,}$/.test(l.trim()));
    expect(modes).toHaveLength(2);
    expect(modes[1]).toBe(modes[0]);
  });

  it('-t without a terminal on stdin warns and runs without a TTY', async () => {
    const r = await runCli(['exec', S, '-t', '--', 'sh', '-c', 'test -t 0 || echo no-tty'], { env: engine.env });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('no-tty\n');
    expect(r.stderr).toMatch(/-t ignored/);
  });
});

// The physical baselines every other figure is read against: process start, a local pipe, direct
// loopback TCP and a local PTY. The helpers are shared: each benchmark measures its own baseline in
// its own run, interleaved with its workload.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { NODE, BIN, ROOT, run, runOk, interleave, median, percentile, mbps, figure, now, GiB } from './lib.js';

export const TCP_TOOL = join(ROOT, 'bench', 'tools', 'tcp.js');

/** Wall time of `head -c BYTES /dev/zero | cat > /dev/null` (ms). */
export async function pipeMs(bytes = GiB) {
  return (await runOk('sh', ['-c', `head -c ${bytes} /dev/zero | cat > /dev/null`])).ms;
}

/**
 * The TCP endpoints of tools/tcp.js in their own process; `close()` ends it (by closing its stdin).
 * `inSprite` ({ name, env }) runs them inside that sprite through `sprites exec`, so they listen on
 * the sprite's own localhost (in its network namespace under the sandbox driver).
 */
export async function startTcpServers(inSprite) {
  const argv = inSprite ? [BIN, 'exec', inSprite.name, '--', NODE, TCP_TOOL, 'serve'] : [TCP_TOOL, 'serve'];
  const child = spawn(NODE, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: inSprite?.env ?? process.env });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-2000)));
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`tcp.js serve exited ${code}: ${stderr.trim()}`)));
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    ...JSON.parse(line),
    pid: child.pid,
    async close() {
      child.stdin.end();
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** One tools/tcp.js client run; returns its JSON line. */
export async function tcpClient(args, options = {}) {
  const r = await runOk(NODE, [TCP_TOOL, ...args], options);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** ms to push `bytes` to a sink on `port` and have it acknowledge them all (process start excluded). */
export async function sendMs(port, bytes = GiB) {
  return (await tcpClient(['send', String(port), String(bytes)])).ms;
}

export async function recvMs(port, bytes = GiB) {
  return (await tcpClient(['recv', String(port), String(bytes)])).ms;
}

/**
 * Keystroke echo through a PTY running `file args`: after `ready` is seen in the output, send
 * `keys` single bytes one at a time and time each until it comes back. Returns latencies in ms.
 */
export async function ptyEchoLatencies(file, args, { env = process.env, keys = 1000, ready, timeoutMs = 5000 } = {}) {
  const pty = await import('@lydell/node-pty');
  const term = pty.spawn(file, args, { name: 'xterm', cols: 80, rows: 24, cwd: ROOT, env });
  let buffer = '';
  let waiter;
  term.onData((d) => {
    buffer += d;
    waiter?.();
  });
  let exited = false;
  term.onExit(() => {
    exited = true;
    waiter?.();
  });
  const waitFor = (pred, what) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiter = undefined;
        reject(new Error(`PTY: timed out waiting for ${what}; output so far: ${JSON.stringify(buffer.slice(-200))}`));
      }, timeoutMs);
      waiter = () => {
        if (pred()) {
          clearTimeout(timer);
          waiter = undefined;
          resolve();
        } else if (exited) {
          clearTimeout(timer);
          waiter = undefined;
          reject(new Error(`PTY: process exited while waiting for ${what}; output: ${JSON.stringify(buffer.slice(-200))}`));
        }
      };
      waiter();
    });
  try {
    // A marker echoed back proves the remote end is in raw mode and reading.
    await waitFor(() => ready === undefined || buffer.includes(ready), 'the program to start');
    term.write('#');
    await waitFor(() => buffer.endsWith('#'), 'the first echo');
    const out = [];
    buffer = '';
    let echoed = '';
    for (let i = 0; i < keys; i++) {
      const key = String.fromCharCode(97 + (i % 26));
      echoed += buffer;
      buffer = '';
      const t = now();
      term.write(key);
      await waitFor(() => buffer.includes(key), `the echo of keystroke ${i}`);
      out.push(now() - t);
    }
    // Each key must come back once: a second copy would mean a local echo was being timed.
    await new Promise((r) => setTimeout(r, 100));
    echoed += buffer;
    const expected = Array.from({ length: keys }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    if (echoed !== expected) throw new Error(`PTY: the echo is not the keys sent once each (${echoed.length} chars back for ${keys} keys)`);
    return out;
  } finally {
    if (!exited) term.kill('SIGKILL');
  }
}

/** The local PTY baseline: a raw-mode `cat` under a PTY on this machine. */
export function localPtyLatencies(keys = 1000) {
  return ptyEchoLatencies('sh', ['-c', 'stty raw -echo; echo READY; exec cat'], { keys, ready: 'READY' });
}

export default {
  name: 'baselines',
  title: 'Physical baselines',
  description: 'What this machine does with no CLI in the way; every other section measures its own baseline again in its own run.',
  async run() {
    const RUNS = 5;
    const s = await interleave(
      {
        'node -e 0': async () => (await run(NODE, ['-e', '0'])).ms,
        floor: async () => (await run(NODE, ['-e', "await import('@oclif/core')"])).ms,
      },
      { runs: 15, warmup: 2 },
    );
    const tcp = await startTcpServers();
    let io;
    try {
      io = await interleave(
        { pipe: () => pipeMs(GiB), send: () => sendMs(tcp.sink, GiB), recv: () => recvMs(tcp.source, GiB) },
        { runs: RUNS, warmup: 1 },
      );
    } finally {
      await tcp.close();
    }
    const pty = await localPtyLatencies(1000);
    return {
      figures: [
        figure({ name: 'node -e 0', ours: median(s['node -e 0']), unit: 'ms', runs: 15 }),
        figure({ name: `node -e "await import('@oclif/core')"`, ours: median(s.floor), baseline: median(s['node -e 0']), baselineName: 'node -e 0', unit: 'ms', runs: 15, note: 'the framework floor' }),
        figure({ name: 'local pipe, 1 GiB (head -c 1G /dev/zero | cat)', ours: mbps(GiB, median(io.pipe)), unit: 'MB/s', runs: RUNS }),
        figure({ name: 'loopback TCP, 1 GiB client → server', ours: mbps(GiB, median(io.send)), unit: 'MB/s', runs: RUNS, note: 'node client and server processes' }),
        figure({ name: 'loopback TCP, 1 GiB server → client', ours: mbps(GiB, median(io.recv)), unit: 'MB/s', runs: RUNS }),
        figure({ name: 'local PTY keystroke echo p50 (raw cat)', ours: median(pty), unit: 'ms', runs: pty.length }),
        figure({ name: 'local PTY keystroke echo p99 (raw cat)', ours: percentile(pty, 99), unit: 'ms', runs: pty.length }),
      ],
    };
  },
};

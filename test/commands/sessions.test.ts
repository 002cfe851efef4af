// Sessions: list, exec --detach, kill, and attach under a real PTY (scrollback, detach keys,
// reconnect, terminal modes). The real binary against a real engine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { BIN, engineFetch, runCli, startEngine, type TestEngine } from '../helpers/cli.js';
import { runCliPty, spawnPty, type PtyRun } from '../helpers/pty.js';

let engine: TestEngine & { cleanup(): void };
const S = 'sess';

beforeAll(async () => {
  engine = await startEngine();
  expect((await runCli(['create', S], { env: engine.env })).code).toBe(0);
});

afterAll(async () => {
  await engine?.stop();
  engine?.cleanup();
});

const cli = (args: string[]) => runCli(args, { env: engine.env });

async function detached(...argv: string[]): Promise<string> {
  const r = await cli(['exec', S, '--detach', '--', ...argv]);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^\d+\n$/);
  return r.stdout.trim();
}

/** A detached command that prints `ready` and then runs PROGRAM; resolves once it has printed. */
async function detachedReady(...program: string[]): Promise<string> {
  const id = await detached('sh', '-c', `echo ready; exec ${program.join(' ')}`);
  const deadline = Date.now() + 15_000;
  for (;;) {
    const list = (await (await engineFetch(engine, `/v1/sprites/${S}/exec`)).json()) as { sessions: Array<{ id: string; last_activity?: string }> };
    if (list.sessions.find((s) => s.id === id)?.last_activity) return id;
    if (Date.now() > deadline) throw new Error(`session ${id} never printed ready`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Numbers printed as n1 n2 n3 … must follow each other: no gap, no duplicate. */
function expectConsecutive(text: string): number[] {
  const numbers = [...text.matchAll(/n(\d+)\r*\n/g)].map((m) => Number(m[1]));
  for (let i = 1; i < numbers.length; i++) expect(numbers[i], `after n${numbers[i - 1]} in ${JSON.stringify(text.slice(-300))}`).toBe(numbers[i - 1]! + 1);
  return numbers;
}

const COUNTER = 'i=0; while :; do i=$((i+1)); echo n$i; sleep 0.02; done';

async function waitDetached(run: PtyRun, id: string): Promise<void> {
  await run.waitFor(`detached from session ${id}; reattach with: sprites attach ${S} ${id}`);
  expect((await run.exited).exitCode).toBe(0);
}

describe('sessions list, detach and kill', () => {
  it('exec --detach returns an id at once; sessions lists it (plain rows piped, --json)', async () => {
    const id = await detached('sleep', '60');
    const rows = await cli(['sessions', S]);
    expect(rows.code).toBe(0);
    const row = rows.stdout.split('\n').find((l) => l.startsWith(`${id}\t`));
    expect(row?.split('\t').slice(0, 4)).toEqual([id, 'sleep 60', 'yes', 'yes']);
    const json = JSON.parse((await cli(['sessions', 'list', S, '--json'])).stdout) as Array<Record<string, unknown>>;
    expect(json.find((s) => s.id === id)).toMatchObject({ command: 'sleep 60', tty: true, is_active: true });
    const killed = await cli(['kill', S, id]);
    expect(killed.code).toBe(0);
    expect(killed.stderr).toContain('complete: exit code');
  });

  it('kill: TERM ends a process; one that ignores TERM is killed after --timeout; a finished session is success; an unknown one is an error', async () => {
    const term = await detachedReady('sleep', '60');
    const r1 = await cli(['kill', S, term, '--json']);
    expect(r1.code).toBe(0);
    const events1 = r1.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events1.map((e) => e.type)).toEqual(['signal', 'exited', 'complete']);
    expect(events1[2]).toEqual({ type: 'complete', exit_code: 143 });

    const stubborn = await detachedReady('sh', '-c', "'trap \"\" TERM; while :; do sleep 0.05; done'");
    const r2 = await cli(['kill', S, stubborn, '--timeout', '300ms', '--json']);
    expect(r2.code).toBe(0);
    const events2 = r2.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events2.map((e) => e.type)).toEqual(['signal', 'timeout', 'killed', 'complete']);
    expect(events2[3]).toEqual({ type: 'complete', exit_code: 137 });

    const again = await cli(['kill', S, term]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already exited');

    const unknown = await cli(['kill', S, '999999']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no session 999999');
  });
});

describe('attach at a terminal', () => {
  it('replays the scrollback then live output with no duplicate at the seam, and detaches with Ctrl+\\', async () => {
    const id = await detached('sh', '-c', COUNTER);
    const first = runCliPty(['attach', S, id], { env: engine.env });
    await first.waitFor(/n40\r*\n/);
    first.write('\x1c');
    await waitDetached(first, id);
    const seen = expectConsecutive(first.output());
    expect(seen[0]).toBe(1);

    // Output produced while detached lands in the scrollback; a new attach replays it all.
    const second = runCliPty(['attach', S, id], { env: engine.env });
    const beyond = seen[seen.length - 1]! + 40;
    await second.waitFor(new RegExp(`n${beyond}\\r*\\n`));
    second.write('\x1c');
    await waitDetached(second, id);
    const again = expectConsecutive(second.output());
    expect(again[0]).toBe(1);
    expect((await cli(['kill', S, id, '--signal', 'KILL'])).code).toBe(0);
  });

  it('is a raw bridge: typed keys echo, resize reaches stty size, --detach-keys work in one chunk and split, a lone prefix passes on', async () => {
    const id = await detached('sh', '-i');
    const run = runCliPty(['attach', S, id, '--detach-keys', 'ctrl-p,ctrl-q'], { env: engine.env, cols: 80, rows: 24 });
    run.write('echo hel""lo\r');
    await run.waitFor(/\nhello\r*\n/);
    run.write('stty size\r');
    await run.waitFor('24 80');
    run.resize(101, 31);
    const ask = setInterval(() => run.write('stty size\r'), 200);
    try {
      await run.waitFor('31 101');
    } finally {
      clearInterval(ask);
    }
    // Ctrl-P then x: not the sequence, so both keys reach the shell (the terminal echoes ^P).
    run.write('\x10x');
    await run.waitFor('^Px');
    run.write('\x15');
    run.write('\x10\x11');
    await waitDetached(run, id);

    const split = runCliPty(['attach', S, id, '--detach-keys', 'ctrl-p,ctrl-q'], { env: engine.env });
    split.write('echo back""again\r');
    await split.waitFor('backagain');
    split.write('\x10');
    // A pause between the two keys so they reach the CLI as two reads (not to wait for state).
    await new Promise((r) => setTimeout(r, 150));
    split.write('\x11');
    await waitDetached(split, id);

    // The session's own exit ends an attach with its code.
    const last = runCliPty(['attach', S, id], { env: engine.env });
    last.write('kill -KILL $$\r');
    expect((await last.exited).exitCode).toBe(137);
  });

  it('restores the terminal modes after attach (stty -g before = after)', async () => {
    const id = await detached('sh', '-c', 'read x; exit 3');
    const script = `stty -g; "${process.execPath}" "${BIN}" attach ${S} ${id}; echo "rc=$?"; stty -g`;
    const run = spawnPty('sh', ['-c', script], { env: engine.env });
    await run.waitFor(/[0-9a-f]+(:[0-9a-f]+){10,}/);
    // Wait until the attach has put the terminal in raw mode: the input then reaches the remote `read`.
    const type = setInterval(() => run.write('go\r'), 200);
    try {
      await run.exited;
    } finally {
      clearInterval(type);
    }
    const out = run.output();
    expect(out).toContain('rc=3');
    const modes = out.split(/\r*\n/).map((l) => l.trim()).filter((l) => /^[0-9a-f]+(:[0-9a-f]+){10,}$/.test(l));
    expect(modes).toHaveLength(2);
    expect(modes[1]).toBe(modes[0]);
  });

  it('reconnects when the connection to the engine is cut, and continues without duplicating output', async () => {
    const relay = await startRelay(new URL(engine.url).port);
    try {
      const id = await detached('sh', '-c', COUNTER);
      const env = { ...engine.env, SPRITES_API_URL: `http://127.0.0.1:${relay.port}` };
      const run = runCliPty(['attach', S, id], { env });
      await run.waitFor(/n20\r*\n/);
      relay.cut();
      await run.waitFor('reconnecting');
      const n = Number([...run.output().matchAll(/n(\d+)\r*\n/g)].pop()![1]);
      await run.waitFor(new RegExp(`n${n + 40}\\r*\\n`));
      run.write('\x1c');
      await waitDetached(run, id);
      const text = run.output().replace(/\r*\nconnection to session[^\n]*\n/g, '\n');
      const numbers = expectConsecutive(text);
      expect(numbers[0]).toBe(1);
      expect((await cli(['kill', S, id, '--signal', 'KILL'])).code).toBe(0);
    } finally {
      relay.close();
    }
  });
});

describe('attach to an older server', () => {
  it('falls back to exec?id= when the path form answers 404', async () => {
    // A session that waits for a line on its terminal, then prints and ends with its own code.
    const id = await detachedReady('sh', '-c', "'read line; echo legacy-$line; exit 4'");
    const legacy = await startLegacyServer(new URL(engine.url).port, id);
    try {
      const r = await runCli(['attach', S, id], {
        env: { ...engine.env, SPRITES_API_URL: `http://127.0.0.1:${legacy.port}` },
        input: 'ok\n',
      });
      expect(legacy.refused).toBe(1);
      expect(legacy.queryAttaches).toBe(1);
      expect(r.stdout).toContain('legacy-ok');
      expect(r.code).toBe(4);
    } finally {
      legacy.close();
    }
  });
});

/**
 * A server that only knows the legacy attach form: the path form `/exec/ID` answers 404, every
 * other request (including `/exec?id=ID`) is relayed to the engine as it is.
 */
async function startLegacyServer(targetPort: string, id: string): Promise<{ port: number; refused: number; queryAttaches: number; close(): void }> {
  const sockets = new Set<Socket>();
  const state = { refused: 0, queryAttaches: 0 };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    client.once('data', (first: Buffer) => {
      const line = first.toString('latin1').split('\r\n', 1)[0]!;
      if (line.startsWith(`GET /v1/sprites/${S}/exec/${id}`)) {
        state.refused++;
        const body = JSON.stringify({ error: 'not_found', message: 'Not Found' });
        client.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
        return;
      }
      if (line.includes(`/exec?`) && line.includes(`id=${id}`)) state.queryAttaches++;
      const upstream = connect(Number(targetPort), '127.0.0.1');
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      upstream.write(first);
      client.pipe(upstream).pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    get refused() {
      return state.refused;
    },
    get queryAttaches() {
      return state.queryAttaches;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** A TCP relay to the engine whose live connections can be cut. */
async function startRelay(targetPort: string): Promise<{ port: number; cut(): void; close(): void }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(targetPort), '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      for (const s of sockets) s.destroy();
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

// The engine's session registry over real sockets: attach by path and by ?id=, owner and
// viewers, scrollback replay, kill (query and JSON body), 404 and 410.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, engineFetch, type TestEngine } from '../helpers/cli.js';
import { execUrl, openExec } from './exec-client.js';

let engine: TestEngine & { cleanup(): void };
const SPRITE = 'reg';

beforeAll(async () => {
  engine = await startEngine();
  const res = await engineFetch(engine, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name: SPRITE }), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await engine?.stop();
  engine?.cleanup();
});

const cmd = (...argv: string[]): Array<[string, string]> => argv.map((a) => ['cmd', a]);
const screen = (binaries: Buffer[]) => Buffer.concat(binaries).toString('utf8');

async function kill(id: string, init: { query?: string; body?: unknown } = {}): Promise<{ status: number; events: Array<Record<string, unknown>> }> {
  const res = await engineFetch(engine, `/v1/sprites/${SPRITE}/exec/${id}/kill${init.query ?? ''}`, {
    method: 'POST',
    ...(init.body ? { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } } : {}),
  });
  const text = await res.text();
  return { status: res.status, events: res.status === 200 ? text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : [] };
}

describe('session registry', () => {
  it('replays the scrollback to a later client (path and ?id= forms), which is a viewer while the owner stays', async () => {
    const owner = await openExec(engine, execUrl(engine, SPRITE, [...cmd('sh', '-c', 'echo first; read x; echo "got $x"; read y'), ['tty', 'true']]));
    await owner.waitFor(() => screen(owner.binaries).includes('first'), 'first line');
    const id = owner.texts[0]!.session_id as string;

    const viewer = await openExec(engine, execUrl(engine, SPRITE, [], `/${id}`));
    await viewer.waitFor(() => screen(viewer.binaries).includes('first'), 'the replay');
    expect(viewer.texts[0]).toMatchObject({ type: 'session_info', session_id: id, is_owner: false, tty: true, replay_from: 0 });

    const legacy = await openExec(engine, execUrl(engine, SPRITE, [['id', id]]));
    await legacy.waitFor(() => screen(legacy.binaries).includes('first'), 'the replay (legacy form)');

    owner.ws.send(Buffer.from('hi\r'));
    for (const c of [owner, viewer, legacy]) await c.waitFor(() => screen(c.binaries).includes('got hi'), 'live output to every client');
    expect(screen(viewer.binaries).match(/first/g)).toHaveLength(1);
    viewer.ws.send(Buffer.from('\r'));
    for (const c of [owner, viewer, legacy]) await c.waitFor(() => c.exitCode() !== undefined, 'exit to every client');
    expect(owner.exitCode()).toBe(0);

    // A finished session stays attachable for a while: replay and exit code.
    const late = await openExec(engine, execUrl(engine, SPRITE, [], `/${id}`));
    await late.waitFor(() => late.exitCode() !== undefined, 'the exit code on a late attach');
    expect(screen(late.binaries)).toContain('got hi');
    expect(late.exitCode()).toBe(0);
  });

  it('kill: query or JSON body, KILL after the timeout, 410 once finished, 404 for an unknown session', async () => {
    const stubborn = await openExec(engine, execUrl(engine, SPRITE, cmd('sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done')));
    await stubborn.waitFor(() => stubborn.stdout().includes('ready'), 'ready');
    const id = stubborn.texts[0]!.session_id as string;
    const r = await kill(id, { body: { signal: 'TERM', timeout: '200ms' } });
    expect(r.status).toBe(200);
    expect(r.events.map((e) => e.type)).toEqual(['signal', 'timeout', 'killed', 'complete']);
    expect(r.events[0]).toMatchObject({ signal: 'SIGTERM', pid: Number(id) });
    expect(r.events[3]).toEqual({ type: 'complete', exit_code: 137 });
    expect((await kill(id, { query: '?signal=SIGTERM' })).status).toBe(410);
    expect((await kill('424242')).status).toBe(404);

    // Signalled once it runs (a sandbox wrapper ignores signals while it starts the program).
    const polite = await openExec(engine, execUrl(engine, SPRITE, cmd('sh', '-c', 'echo ready; exec sleep 30')));
    await polite.waitFor(() => polite.stdout().includes('ready'), 'ready');
    const r2 = await kill(polite.texts[0]!.session_id as string, { query: '?signal=INT&timeout=5s' });
    expect(r2.events.map((e) => e.type)).toEqual(['signal', 'exited', 'complete']);
    expect(r2.events[2]).toEqual({ type: 'complete', exit_code: 130 });
  });

  it('a TTY session runs on after its client leaves, and output meanwhile lands in the scrollback', async () => {
    const first = await openExec(engine, execUrl(engine, SPRITE, [...cmd('sh', '-c', 'read x; echo "after $x"; read y'), ['tty', 'true']]));
    await first.waitFor(() => first.texts.length > 0, 'session_info');
    const id = first.texts[0]!.session_id as string;
    first.ws.send(Buffer.from('gone\r'));
    first.ws.terminate();
    const back = await openExec(engine, execUrl(engine, SPRITE, [], `/${id}`));
    await back.waitFor(() => screen(back.binaries).includes('after gone'), 'output produced while detached');
    back.ws.send(Buffer.from('\r'));
    await back.waitFor(() => back.exitCode() !== undefined, 'exit');
  });
});

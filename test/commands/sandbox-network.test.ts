// Network policy in the sandbox driver: the sprite's only way out is the engine's egress proxy,
// which applies the policy by name. Servers run on this host's 127.0.0.1 and the sprite names
// them in its own /etc/hosts; no outside traffic.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { engineFetch, isolatedEnv, runCli, startEngine, type TestEngine } from '../helpers/cli.js';
import { sandboxUnavailable } from '../../src/engine/sandbox/probe.js';

const unavailable = await sandboxUnavailable();

// Inside the sprite: CONNECT through the egress proxy, print the status, then every line received and EOF.
const TUNNEL = `
import socket, sys
host, port = sys.argv[1], sys.argv[2]
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(("CONNECT %s:%s HTTP/1.1\\r\\nHost: %s:%s\\r\\n\\r\\n" % (host, port, host, port)).encode())
f = s.makefile("rb")
print(f.readline().decode().split()[1], flush=True)
while f.readline().strip():
    pass
for line in f:
    print(line.decode().strip(), flush=True)
print("EOF", flush=True)
`;

// Inside the sprite: a direct connection, bypassing the proxy.
const DIRECT = `
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    print("connected")
except OSError as e:
    print("refused", e.errno)
`;

describe.skipIf(unavailable !== undefined)('network policy in the sandbox driver', () => {
  const base = isolatedEnv();
  let engine: TestEngine;
  let greeter: Server;
  let holder: Server;
  const held: Socket[] = [];
  const cli = (args: string[]) => runCli(args, { env: engine.env });
  const tunnel = (host: string, port: number) => cli(['exec', 'net1', '--', 'python3', '/usr/local/bin/tunnel.py', host, String(port)]);
  const setPolicy = async (rules: unknown[]) => {
    const res = await engineFetch(engine, '/v1/sprites/net1/policy/network', { method: 'POST', body: JSON.stringify({ rules }) });
    expect(res.status).toBe(204);
  };
  const portOf = (s: Server) => (s.address() as { port: number }).port;
  /** The proxy's refusal: 403 and the reason, never the server's greeting. */
  const refused = (reason: RegExp) => expect.stringMatching(new RegExp(`^403\\n${reason.source}\\nEOF\\n$`));

  beforeAll(async () => {
    greeter = createServer((s) => s.end('hello\n'));
    holder = createServer((s) => {
      held.push(s);
      s.on('error', () => {});
      s.write('hello\n');
    });
    await Promise.all([greeter, holder].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()))));
    engine = await startEngine(base, ['--isolation', 'sandbox']);
    expect((await cli(['create', 'net1'])).code).toBe(0);
    const setup = await runCli(
      ['exec', 'net1', '--', 'sh', '-c', 'cat > /usr/local/bin/tunnel.py && echo "127.0.0.1 allowed.test other.test" >> /etc/hosts'],
      { env: engine.env, input: TUNNEL },
    );
    expect(setup.code).toBe(0);
    await runCli(['exec', 'net1', '--', 'sh', '-c', 'cat > /usr/local/bin/direct.py'], { env: engine.env, input: DIRECT });
  });

  afterAll(async () => {
    for (const s of held) s.destroy();
    greeter?.close();
    holder?.close();
    await engine?.stop();
    base.cleanup();
  });

  it('reaches names through the proxy without a policy, and nothing directly', async () => {
    expect((await tunnel('allowed.test', portOf(greeter))).stdout).toBe('200\nhello\nEOF\n');
    expect((await tunnel('other.test', portOf(greeter))).stdout).toBe('200\nhello\nEOF\n');
    const direct = await cli(['exec', 'net1', '--', 'python3', '/usr/local/bin/direct.py', String(portOf(greeter))]);
    expect(direct.stdout).toMatch(/^refused/);
  });

  it('allows the allowed name, refuses others and raw IPs', async () => {
    await setPolicy([{ domain: 'allowed.test', action: 'allow' }]);
    expect((await tunnel('allowed.test', portOf(greeter))).stdout).toBe('200\nhello\nEOF\n');
    expect((await tunnel('other.test', portOf(greeter))).stdout).toEqual(refused(/other.test is not allowed by the network policy/));
    expect((await tunnel('127.0.0.1', portOf(greeter))).stdout).toEqual(refused(/raw IP address 127.0.0.1 is blocked.*/));
  });

  it('blocks everything with deny *', async () => {
    await setPolicy([{ domain: '*', action: 'deny' }]);
    expect((await tunnel('allowed.test', portOf(greeter))).stdout).toEqual(refused(/allowed.test is denied by the rule for \*/));
    expect((await tunnel('other.test', portOf(greeter))).stdout).toEqual(refused(/other.test is denied by the rule for \*/));
  });

  it('lets the most specific rule win', async () => {
    await setPolicy([
      { domain: '*', action: 'deny' },
      { domain: '*.test', action: 'allow' },
      { domain: 'other.test', action: 'deny' },
    ]);
    expect((await tunnel('allowed.test', portOf(greeter))).stdout).toBe('200\nhello\nEOF\n');
    expect((await tunnel('other.test', portOf(greeter))).stdout).toEqual(refused(/other.test is denied by the rule for other.test/));
  });

  it('cuts a live connection when its name becomes denied', async () => {
    await setPolicy([{ domain: 'allowed.test', action: 'allow' }]);
    const before = held.length;
    const running = tunnel('allowed.test', portOf(holder));
    const deadline = Date.now() + 30_000;
    while (held.length === before && Date.now() < deadline) await new Promise((r) => setImmediate(r));
    expect(held.length).toBe(before + 1);
    await setPolicy([{ domain: 'allowed.test', action: 'deny' }]);
    const result = await running;
    expect(result.stdout).toBe('200\nhello\nEOF\n');
  });
});

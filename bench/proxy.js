// proxy through the local engine: bulk throughput both ways and small-HTTP request rates against
// direct loopback TCP, and 200 concurrent connections (all echoing correctly, the CLI's peak RSS).
// The same servers (tools/tcp.js serve) run twice: inside the sprite (started with `sprites exec`,
// the tunnel's target on the sprite's localhost) and on this host (the direct baseline).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NODE, BIN, GiB, interleave, median, mbps, figure, skipped, hasCommand, readHwmKb, attempt } from './lib.js';
import { TCP_TOOL, startTcpServers, sendMs, recvMs, tcpClient } from './baselines.js';

const RUNS = 3;
const HTTP_SECONDS = 3;
const HTTP_CONC = 8;
const HOLD = 200;

/**
 * A running tunnel process (ours or the SDK's) and the local port of each remote port, read from
 * its output: `Forwarding 127.0.0.1:L -> s:R` lines (ours), or the JSON lines of the SDK driver.
 */
export async function startTunnel(cmd, args, env, remotePorts, parse) {
  const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let text = '';
  const mapping = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`tunnel did not report its ports within 20 s; output: ${text.slice(-300)}`)), 20_000);
    const onLine = (line) => {
      text += line + '\n';
      const m = parse(text, remotePorts);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tunnel exited ${code}: ${text.slice(-300)}`));
    });
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    mapping,
    pid: child.pid,
    async stop() {
      child.stdin.end();
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Local port for each remote port from the CLI's "Forwarding 127.0.0.1:L -> NAME:R" lines. */
export function parseForwarding(text, remotePorts) {
  const found = {};
  for (const m of text.matchAll(/127\.0\.0\.1:(\d+)\s*->\s*\S+?:(\d+)/g)) found[m[2]] = Number(m[1]);
  return remotePorts.every((p) => found[p]) ? found : undefined;
}

export default {
  name: 'proxy',
  title: 'proxy',
  async run(ctx) {
    if (!hasCommand('proxy')) return { figures: [skipped('proxy workloads', 'not available yet (no proxy command in this build)')] };
    const engine = await ctx.engine();
    await engine.createSprite('s');
    const tcp = await startTcpServers();
    let inner;
    let tunnel;
    try {
      inner = await startTcpServers({ name: 's', env: engine.env });
      const remote = [inner.sink, inner.source, inner.http, inner.echo].map(String);
      tunnel = await startTunnel(NODE, [BIN, 'proxy', 's', ...remote.map((p) => `0:${p}`)], engine.env, remote, parseForwarding);
      const via = (p) => tunnel.mapping[String(p)];
      // Direct: this host's servers; tunnel: the sprite's (same program, same ports' roles).

      const out = { figures: [], notes: [] };
      const bulkFig = (name, directFn, tunnelFn) =>
        attempt(out, name, async () => {
          const s = await interleave({ direct: directFn, tunnel: tunnelFn }, { runs: RUNS, warmup: 0 });
          out.figures.push(figure({ name, ours: mbps(GiB, median(s.tunnel)), baseline: mbps(GiB, median(s.direct)), baselineName: 'direct loopback TCP', unit: 'MB/s', target: { min: 0.25 }, runs: RUNS }));
        });
      ctx.log('1 GiB each way through the tunnel vs direct');
      await bulkFig('bulk 1 GiB local → sprite', () => sendMs(tcp.sink, GiB), () => sendMs(via(inner.sink), GiB));
      await bulkFig('bulk 1 GiB sprite → local', () => recvMs(tcp.source, GiB), () => recvMs(via(inner.source), GiB));

      ctx.log('small HTTP requests');
      for (const how of ['keep-alive', 'close']) {
        const name = `small HTTP GETs, ${how === 'close' ? 'new connection per request' : 'keep-alive'}, ${HTTP_CONC} workers`;
        await attempt(out, name, async () => {
          const d = await tcpClient(['http', String(tcp.http), String(HTTP_SECONDS), String(HTTP_CONC), how]);
          const t = await tcpClient(['http', String(via(inner.http)), String(HTTP_SECONDS), String(HTTP_CONC), how]);
          out.figures.push(
            figure({
              name,
              ours: t.rate,
              baseline: d.rate,
              baselineName: 'direct loopback',
              unit: 'req/s',
              target: { ok: t.failed === 0, text: 'no failed request' },
              runs: 1,
              note: `${HTTP_SECONDS} s each; ${t.ok} ok / ${t.failed} failed through the tunnel`,
            }),
          );
        });
      }

      ctx.log(`${HOLD} concurrent connections`);
      await attempt(out, `${HOLD} concurrent connections`, async () => {
        // A fresh tunnel, so its peak RSS is that of the connections, not of the bulk runs.
        await tunnel.stop();
        tunnel = await startTunnel(NODE, [BIN, 'proxy', 's', ...remote.map((p) => `0:${p}`)], engine.env, remote, parseForwarding);
        const before = readHwmKb(tunnel.pid);
        const holder = spawn(NODE, [TCP_TOOL, 'hold', String(via(inner.echo)), String(HOLD)], { stdio: ['pipe', 'pipe', 'inherit'] });
        const held = JSON.parse(
          await new Promise((resolve, reject) => {
            createInterface({ input: holder.stdout }).once('line', resolve);
            holder.once('exit', (code) => reject(new Error(`hold exited ${code}`)));
          }),
        );
        const peak = readHwmKb(tunnel.pid);
        holder.stdin.end();
        out.figures.push(
          figure({
            name: `${HOLD} concurrent connections, CLI peak RSS`,
            ours: peak,
            unit: 'kB',
            target: { ok: held.failed === 0, text: 'no failed connection' },
            runs: 1,
            note: `${held.ok}/${HOLD} echoed correctly, all open in ${Math.round(held.ms)} ms; RSS of a fresh tunnel before: ${(before / 1024).toFixed(1)} MB`,
          }),
        );
      });
      return out;
    } finally {
      await tunnel?.stop();
      await inner?.close();
      await tcp.close();
    }
  },
};

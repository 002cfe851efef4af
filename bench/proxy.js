// proxy through the local engine: bulk throughput both ways and small-HTTP request rates against
// direct loopback TCP, and 200 concurrent connections (all echoing correctly, the CLI's peak RSS).
// The target servers (tools/tcp.js serve) run on this host, where the engine's host driver dials
// the sprite's localhost.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { NODE, BIN, GiB, interleave, median, mbps, figure, skipped, hasCommand, readHwmKb } from './lib.js';
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
    const remote = [tcp.sink, tcp.source, tcp.http, tcp.echo].map(String);
    let tunnel;
    try {
      tunnel = await startTunnel(NODE, [BIN, 'proxy', 's', ...remote.map((p) => `0:${p}`)], engine.env, remote, parseForwarding);
      const via = (p) => tunnel.mapping[String(p)];

      ctx.log('1 GiB each way through the tunnel vs direct');
      const bulk = await interleave(
        {
          directUp: () => sendMs(tcp.sink, GiB),
          up: () => sendMs(via(tcp.sink), GiB),
          directDown: () => recvMs(tcp.source, GiB),
          down: () => recvMs(via(tcp.source), GiB),
        },
        { runs: RUNS, warmup: 0 },
      );

      ctx.log('small HTTP requests');
      const http = {};
      for (const how of ['keep-alive', 'close']) {
        for (const [label, port] of [['direct', tcp.http], ['tunnel', via(tcp.http)]]) {
          http[`${label} ${how}`] = await tcpClient(['http', String(port), String(HTTP_SECONDS), String(HTTP_CONC), how]);
        }
      }

      ctx.log(`${HOLD} concurrent connections`);
      // A fresh tunnel, so its peak RSS is that of the connections, not of the bulk runs.
      await tunnel.stop();
      tunnel = await startTunnel(NODE, [BIN, 'proxy', 's', ...remote.map((p) => `0:${p}`)], engine.env, remote, parseForwarding);
      const before = readHwmKb(tunnel.pid);
      const holder = spawn(NODE, [TCP_TOOL, 'hold', String(via(tcp.echo)), String(HOLD)], { stdio: ['pipe', 'pipe', 'inherit'] });
      const held = JSON.parse(await new Promise((resolve, reject) => {
        createInterface({ input: holder.stdout }).once('line', resolve);
        holder.once('exit', (code) => reject(new Error(`hold exited ${code}`)));
      }));
      const peak = readHwmKb(tunnel.pid);
      holder.stdin.end();

      const rateFig = (how) => {
        const d = http[`direct ${how}`];
        const t = http[`tunnel ${how}`];
        return figure({
          name: `small HTTP GETs, ${how === 'close' ? 'new connection per request' : 'keep-alive'}, ${HTTP_CONC} workers`,
          ours: t.rate,
          baseline: d.rate,
          baselineName: 'direct loopback',
          unit: 'req/s',
          target: { ok: t.failed === 0, text: 'no failed request' },
          runs: 1,
          note: `${HTTP_SECONDS} s each; ${t.ok} ok / ${t.failed} failed through the tunnel`,
        });
      };
      return {
        figures: [
          figure({ name: 'bulk 1 GiB local → sprite', ours: mbps(GiB, median(bulk.up)), baseline: mbps(GiB, median(bulk.directUp)), baselineName: 'direct loopback TCP', unit: 'MB/s', target: { min: 0.25 }, runs: RUNS }),
          figure({ name: 'bulk 1 GiB sprite → local', ours: mbps(GiB, median(bulk.down)), baseline: mbps(GiB, median(bulk.directDown)), baselineName: 'direct loopback TCP', unit: 'MB/s', target: { min: 0.25 }, runs: RUNS }),
          rateFig('keep-alive'),
          rateFig('close'),
          figure({
            name: `${HOLD} concurrent connections, CLI peak RSS`,
            ours: peak,
            unit: 'kB',
            target: { ok: held.failed === 0, text: 'no failed connection' },
            runs: 1,
            note: `${held.ok}/${HOLD} echoed correctly, all open in ${Math.round(held.ms)} ms; RSS of a fresh tunnel before: ${(before / 1024).toFixed(1)} MB`,
          }),
        ],
      };
    } finally {
      await tunnel?.stop();
      await tcp.close();
    }
  },
};

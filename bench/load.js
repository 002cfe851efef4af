// Load on one engine, all at once: 10 attached sessions (`sprites attach`), 200 proxy connections
// held open through one `sprites proxy` (each echo-checked), and 50 exec clients × 20 execs each
// (raw WebSocket clients speaking SPRITES-API.md §2, as an SDK does, so the figure is the engine's
// and not 1,000 CLI start-ups; bench/exec.js covers concurrent `sprites exec` processes). Every
// result is checked: stdout, stderr and exit code of each exec, the echo of each connection, the
// start/end lines and exit code of each session.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';
import { NODE, BIN, run, runOk, median, percentile, figure, now, attempt } from './lib.js';
import { TCP_TOOL, startTcpServers } from './baselines.js';
import { startTunnel, parseForwarding } from './proxy.js';

const CLIENTS = 50;
const EXECS_PER_CLIENT = 20;
const PROXY_CONNECTIONS = 200;
const SESSIONS = 10;
const SPRITE = 'load';

/** One exec over a raw WebSocket: { ms, stdout, stderr, code } (code undefined if no exit frame). */
function rawExec(engine, argv) {
  const q = new URLSearchParams([...argv.map((a) => ['cmd', a]), ['path', argv[0]], ['stdin', 'false']]);
  const url = `${engine.url.replace(/^http/, 'ws')}/v1/sprites/${SPRITE}/exec?${q}`;
  return new Promise((resolve) => {
    const t0 = now();
    const out = [];
    const err = [];
    let code;
    let error;
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${engine.token}` }, perMessageDeflate: false, handshakeTimeout: 60_000 });
    ws.on('message', (data, isBinary) => {
      if (!isBinary || data.length === 0) return;
      if (data[0] === 1) out.push(data.subarray(1));
      else if (data[0] === 2) err.push(data.subarray(1));
      else if (data[0] === 3 && data.length === 2) {
        code = data[1];
        ws.close(1000);
      }
    });
    ws.on('error', (e) => (error = e.message));
    ws.on('close', () => resolve({ ms: now() - t0, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), code, error }));
  });
}

/** 50 clients, each running its 20 execs one after another; every result checked. */
async function execLoad(engine) {
  const latencies = [];
  const bad = [];
  const t0 = now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let i = 0; i < EXECS_PER_CLIENT; i++) {
        const r = await rawExec(engine, ['sh', '-c', 'echo "out-$1-$2"; echo "err-$1-$2" >&2; exit $((($1 + $2) % 7))', 'sh', String(c), String(i)]);
        latencies.push(r.ms);
        const ok = r.code === (c + i) % 7 && r.stdout === `out-${c}-${i}\n` && r.stderr === `err-${c}-${i}\n`;
        if (!ok) bad.push(`client ${c} exec ${i}: exit ${r.code}, stdout ${JSON.stringify(r.stdout.slice(0, 80))}, stderr ${JSON.stringify(r.stderr.slice(0, 120))}${r.error ? `, ${r.error}` : ''}`);
      }
    }),
  );
  return { wall: now() - t0, latencies, bad };
}

/** Start SESSIONS detached TTY sessions that tick until the file load-stop exists, then exit K. */
async function startSessions(engine) {
  await runOk(NODE, [BIN, 'exec', SPRITE, '--', 'rm', '-f', 'load-stop'], { env: engine.env });
  const script = 'echo "sess-$1-start"; n=0; while [ ! -e load-stop ]; do n=$((n+1)); echo "sess-$1-tick-$n"; sleep 0.2; done; echo "sess-$1-end"; exit $1';
  return Promise.all(
    Array.from({ length: SESSIONS }, async (_, k) => {
      const r = await runOk(NODE, [BIN, 'exec', SPRITE, '--detach', '--', 'sh', '-c', script, 'sh', String(k)], { env: engine.env });
      return r.stdout.trim();
    }),
  );
}

/** `sprites attach` to each session; resolves once every one has printed its start line. */
async function attachAll(engine, ids) {
  const attached = ids.map((id, k) => {
    const child = spawn(NODE, [BIN, 'attach', SPRITE, id], { env: engine.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let seen;
    const started = new Promise((resolve) => (seen = resolve));
    child.stdout.on('data', (c) => {
      stdout += c;
      if (stdout.includes(`sess-${k}-start`)) seen();
    });
    child.stderr.on('data', (c) => (stderr = (stderr + c).slice(-2000)));
    const exited = new Promise((resolve) => child.once('close', (code) => resolve(code)));
    exited.then(() => seen());
    return { k, started, exited, output: () => stdout, errors: () => stderr };
  });
  await Promise.all(attached.map((a) => a.started));
  return attached;
}

function engineFds(pid) {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return NaN;
  }
}

function engineRssKb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return NaN;
  }
}

export default {
  name: 'load',
  title: 'load: execs, proxy connections and attached sessions at once on one engine',
  description: `${CLIENTS} exec clients × ${EXECS_PER_CLIENT} execs (raw WebSocket clients, each exec checked for stdout, stderr and exit code), ${PROXY_CONNECTIONS} proxy connections held open through one \`sprites proxy\` to an echo server in the sprite (each checked), and ${SESSIONS} TTY sessions each with a \`sprites attach\` (start line, end line and exit code checked), all on one engine at the same time: the sessions and connections are opened first and stay open while the execs run.`,
  async run(ctx) {
    const engine = await ctx.startEngine();
    await engine.createSprite(SPRITE);
    const out = { figures: [], notes: [], tables: [] };
    let servers;
    let tunnel;
    let holder;
    let attached = [];
    try {
      const fds0 = engineFds(engine.pid);
      const rss0 = engineRssKb(engine.pid);
      ctx.log(`${SESSIONS} sessions, attached`);
      const t0 = now();
      const ids = await startSessions(engine);
      attached = await attachAll(engine, ids);
      const sessionsUp = now() - t0;

      ctx.log(`${PROXY_CONNECTIONS} proxy connections`);
      servers = await startTcpServers({ name: SPRITE, env: engine.env });
      tunnel = await startTunnel(NODE, [BIN, 'proxy', SPRITE, `0:${servers.echo}`], engine.env, [String(servers.echo)], parseForwarding);
      holder = spawn(NODE, [TCP_TOOL, 'hold', String(tunnel.mapping[String(servers.echo)]), String(PROXY_CONNECTIONS)], { stdio: ['pipe', 'pipe', 'inherit'] });
      const held = JSON.parse(
        await new Promise((resolve, reject) => {
          createInterface({ input: holder.stdout }).once('line', resolve);
          holder.once('exit', (code) => reject(new Error(`tcp.js hold exited ${code}`)));
        }),
      );

      ctx.log(`${CLIENTS} × ${EXECS_PER_CLIENT} execs while the sessions and connections are open`);
      const fdsPeakBefore = engineFds(engine.pid);
      const load = await execLoad(engine);
      const fdsLoaded = engineFds(engine.pid);
      const rssLoaded = engineRssKb(engine.pid);
      const stillAttached = attached.filter((a) => !a.output().includes('-end')).length;

      ctx.log('ending the sessions');
      await runOk(NODE, [BIN, 'exec', SPRITE, '--', 'touch', 'load-stop'], { env: engine.env });
      const codes = await Promise.all(attached.map((a) => a.exited));
      const sessionsOk = attached.filter((a, i) => codes[i] === a.k && a.output().includes(`sess-${a.k}-start`) && a.output().includes(`sess-${a.k}-end`)).length;
      const badSession = attached.find((a, i) => !(codes[i] === a.k && a.output().includes(`sess-${a.k}-end`)));
      holder.stdin.end();

      const total = CLIENTS * EXECS_PER_CLIENT;
      out.figures.push(
        figure({
          name: `${CLIENTS} clients × ${EXECS_PER_CLIENT} execs: wall time for all ${total}`,
          ours: load.wall,
          unit: 'ms',
          target: { ok: load.bad.length === 0, text: `${total}/${total} correct` },
          runs: 1,
          note: `${total - load.bad.length}/${total} correct; ${(total / (load.wall / 1000)).toFixed(0)} execs/s${load.bad.length ? `; first failure: ${load.bad[0]}` : ''}`,
        }),
        figure({ name: 'one exec under that load, p50', ours: median(load.latencies), unit: 'ms', runs: total, note: 'open the WebSocket → exit frame' }),
        figure({ name: 'one exec under that load, p95', ours: percentile(load.latencies, 95), unit: 'ms', runs: total }),
        figure({ name: 'one exec under that load, p99', ours: percentile(load.latencies, 99), unit: 'ms', runs: total }),
        figure({ name: 'one exec under that load, max', ours: Math.max(...load.latencies), unit: 'ms', runs: total }),
        figure({
          name: `${PROXY_CONNECTIONS} proxy connections held through the execs`,
          ours: held.ms,
          unit: 'ms',
          target: { ok: held.failed === 0 && held.ok === PROXY_CONNECTIONS, text: 'all echoed' },
          runs: 1,
          note: `${held.ok}/${PROXY_CONNECTIONS} echoed correctly, ${held.failed} failed; time to open and check all`,
        }),
        figure({
          name: `${SESSIONS} attached sessions through the execs`,
          ours: sessionsUp,
          unit: 'ms',
          target: { ok: sessionsOk === SESSIONS && stillAttached === SESSIONS, text: 'all attached throughout, all correct' },
          runs: 1,
          note: `${sessionsOk}/${SESSIONS} with start line, end line and exit code; ${stillAttached}/${SESSIONS} still attached when the execs finished; time to start and attach all${badSession ? `; first bad: session ${badSession.k}: ${JSON.stringify(badSession.errors().trim().slice(-200))}` : ''}`,
        }),
      );
      out.tables.push({
        title: 'engine resources (VmRSS, open file descriptors)',
        head: ['when', 'RSS', 'fds'],
        rows: [
          ['idle, before', `${(rss0 / 1024).toFixed(1)} MB`, String(fds0)],
          ['sessions + connections open', '', String(fdsPeakBefore)],
          ['right after the execs (all still open)', `${(rssLoaded / 1024).toFixed(1)} MB`, String(fdsLoaded)],
        ],
      });
      if (load.bad.length) out.notes.push(`${load.bad.length} exec failures; first ones: ${load.bad.slice(0, 3).join(' | ')}`);
      return out;
    } finally {
      holder?.stdin.end();
      for (const a of attached) a.exited.catch(() => {});
      await tunnel?.stop();
      await servers?.close();
      await run(NODE, [BIN, 'exec', SPRITE, '--', 'touch', 'load-stop'], { env: engine.env }).catch(() => {});
      await engine.stop();
    }
  },
};

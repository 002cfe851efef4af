// Scaling on one engine: exec latency and aggregate stdout throughput with 1, 10 and 50 concurrent
// sessions, and `sprites list` with 0, 100 and 1,000 sprites (pages of 50 on the wire).
import { NODE, BIN, GiB, run, median, percentile, mbps, fmt, skipped, hasCommand } from './lib.js';

const LEVELS = [1, 10, 50];
/** Enough execs per level for a p99 (50 per level is about 10 s of CPU on two cores at 50 wide). */
const EXECS_PER_LEVEL = { 1: 20, 10: 50, 50: 100 };
const STREAM_TOTAL = GiB / 2;

async function execLevel(env, k) {
  const total = EXECS_PER_LEVEL[k];
  const latencies = [];
  let failed = 0;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: k }, async () => {
      while (next < total) {
        next++;
        const r = await run(NODE, [BIN, 'exec', 's', '--', 'true'], { env, timeoutMs: 120_000 });
        if (r.code === 0) latencies.push(r.ms);
        else failed++;
      }
    }),
  );
  return { latencies, failed, wall: performance.now() - t0 };
}

async function streamLevel(env, k) {
  const each = Math.floor(STREAM_TOTAL / k);
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: k }, () => run(NODE, [BIN, 'exec', 's', '--', 'head', '-c', String(each), '/dev/zero'], { env, keepStdout: false, timeoutMs: 300_000 })),
  );
  const ms = performance.now() - t0;
  const good = (r) => r.code === 0 && r.stdoutBytes === each;
  const ok = results.filter(good).length;
  const bad = results.find((r) => !good(r));
  const why = bad && `exit ${bad.code ?? bad.signal}, ${bad.stdoutBytes} of ${each} bytes, ${JSON.stringify(bad.stderr.trim().slice(-200))}`;
  return { ms, ok, bytes: each * k, why };
}

async function listTimes(env, runs = 5) {
  const plain = [];
  const json = [];
  let count;
  for (let i = 0; i < runs; i++) {
    const a = await run(NODE, [BIN, 'list'], { env });
    if (a.code !== 0) throw new Error(`list exited ${a.code}: ${a.stderr}`);
    plain.push(a.ms);
    count = a.stdout.split('\n').filter(Boolean).length;
    const b = await run(NODE, [BIN, 'list', '--json'], { env });
    if (b.code !== 0) throw new Error(`list --json exited ${b.code}: ${b.stderr}`);
    json.push(b.ms);
  }
  return { plain: median(plain), json: median(json), count };
}

async function execTable(ctx, engine, notes) {
  await engine.createSprite('s');
  const rows = [];
  for (const k of LEVELS) {
    ctx.log(`${k} concurrent sessions`);
    const lat = await execLevel(engine.env, k);
    const stream = await streamLevel(engine.env, k);
    if (stream.why) notes.push(`K=${k}: ${k - stream.ok} of ${k} streams not exact; first: ${stream.why}`);
    rows.push([
      String(k),
      fmt.ms(median(lat.latencies)),
      fmt.ms(percentile(lat.latencies, 99)),
      fmt.rate((lat.latencies.length / lat.wall) * 1000).replace('req/s', 'execs/s'),
      `${lat.failed}`,
      fmt.mbps(mbps(stream.bytes, stream.ms)),
      `${stream.ok}/${k}`,
    ]);
  }
  return {
    title: 'exec `true` latency and 512 MiB of stdout split over K concurrent sessions (whole CLI processes)',
    head: ['sessions K', 'exec true p50', 'exec true p99', 'execs/s', 'failed', 'aggregate stdout', 'streams exact'],
    rows,
  };
}

async function listTable(ctx, engine) {
  ctx.log('list with 0, 100 and 1,000 sprites');
  const rows = [];
  let have = 0;
  for (const n of [0, 100, 1000]) {
    for (let i = have; i < n; i += 25) {
      await Promise.all(Array.from({ length: Math.min(25, n - i) }, (_, j) => engine.createSprite(`l-${String(i + j).padStart(4, '0')}`)));
    }
    have = n;
    const t = await listTimes(engine.env);
    rows.push([String(n), `${t.count}`, String(Math.max(1, Math.ceil(n / 50))), fmt.ms(t.plain), fmt.ms(t.json)]);
  }
  return {
    title: '`sprites list` (piped) and `sprites list --json` with N sprites on a fresh engine (the scaling sprite `s` is listed too); median of 5',
    head: ['sprites N', 'rows printed', 'pages of 50', 'list', 'list --json'],
    rows,
  };
}

export default {
  name: 'scaling',
  title: 'Scaling on one engine',
  async run(ctx) {
    const figures = [];
    const tables = [];
    const notes = [];
    // Each part on a fresh engine; a failure is reported (with the engine's last words if it died).
    const part = async (name, fn) => {
      const engine = await ctx.startEngine();
      try {
        tables.push(await fn(ctx, engine, notes));
      } catch (err) {
        const why = `${String(err.message ?? err).split('\n')[0]}${engine.death() ? `; ${engine.death()}` : ''}`;
        ctx.log(`${name} failed: ${why}`);
        notes.push(`**${name} failed:** ${why}`);
      } finally {
        await engine.stop();
      }
    };
    if (hasCommand('exec')) await part('exec at 1/10/50 concurrent sessions', execTable);
    else figures.push(skipped('exec at 1/10/50 concurrent sessions', 'not available yet (no exec command in this build)'));
    await part('list with 0, 100 and 1,000 sprites', listTable);
    return { figures, tables, notes };
  },
};

// exec through the local engine: start-up of `exec true`, 1 GiB each way against a local pipe,
// the CLI's peak RSS while a slow reader drains 1 GiB, and 100 concurrent execs all correct.
import { join } from 'node:path';
import { NODE, BIN, ROOT, GiB, run, runPipeline, interleave, median, mbps, figure, skipped, hasCommand, attempt } from './lib.js';
import { pipeMs } from './baselines.js';

const SLOW_READER = join(ROOT, 'bench', 'tools', 'slow-reader.js');
const RUNS = 3;
const CONCURRENT = 100;

export default {
  name: 'exec',
  title: 'exec',
  description: 'Stdout: `sprites exec s -- head -c 1G /dev/zero | wc -c`; stdin: `head -c 1G /dev/zero | sprites exec s -- wc -c`; both against `head -c 1G /dev/zero | wc -c`, each run checked for the exact byte count.',
  async run(ctx) {
    if (!hasCommand('exec')) return { figures: [skipped('exec workloads', 'not available yet (no exec command in this build)')] };
    const engine = await ctx.engine();
    await engine.createSprite('s');
    const env = engine.env;
    const sprites = (args) => [NODE, [BIN, ...args]];
    const counted = async (stages, rssOf) => {
      const r = await runPipeline(stages, { env, rssOf });
      if (r.stdout.trim() !== String(GiB)) throw new Error(`expected ${GiB} bytes, got ${JSON.stringify(r.stdout.trim())}; exits ${r.codes.join(',')}; stderr ${r.stderr.join(' ').trim().slice(-300)}`);
      return r;
    };
    const head = ['head', ['-c', String(GiB), '/dev/zero']];
    const wc = ['wc', ['-c']];
    const rss = { stdout: [], stdin: [] };

    const out = { figures: [], notes: [] };

    ctx.log('exec true vs node -e 0');
    await attempt(out, 'sprites exec s -- true', async () => {
      const lat = await interleave(
        {
          node: async () => (await run(NODE, ['-e', '0'])).ms,
          exec: async () => {
            const r = await run(NODE, [BIN, 'exec', 's', '--', 'true'], { env });
            if (r.code !== 0) throw new Error(`exec true exited ${r.code}: ${r.stderr.trim()}`);
            return r.ms;
          },
        },
        { runs: 10, warmup: 2 },
      );
      out.figures.push(figure({ name: 'sprites exec s -- true', ours: median(lat.exec), baseline: median(lat.node), baselineName: 'node -e 0', unit: 'ms', target: { max: 2.5 }, runs: 10 }));
    });

    ctx.log('1 GiB stdout and stdin vs a local pipe');
    await attempt(out, 'exec 1 GiB stdout and stdin', async () => {
      const io = await interleave(
        {
          pipe: async () => (await counted([head, wc])).ms,
          stdout: async () => {
            const r = await counted([sprites(['exec', 's', '--', 'head', '-c', String(GiB), '/dev/zero']), wc], 0);
            rss.stdout.push(r.peakRssKb);
            return r.ms;
          },
          stdin: async () => {
            const r = await counted([head, sprites(['exec', 's', '--', 'wc', '-c'])], 1);
            rss.stdin.push(r.peakRssKb);
            return r.ms;
          },
        },
        { runs: RUNS, warmup: 0 },
      );
      const pipe = median(io.pipe);
      out.figures.push(
        figure({ name: 'exec stdout, 1 GiB', ours: mbps(GiB, median(io.stdout)), baseline: mbps(GiB, pipe), baselineName: 'local pipe', unit: 'MB/s', target: { oursMin: 500 }, runs: RUNS, note: 'whole command, start-up included' }),
        figure({ name: 'exec stdin, 1 GiB', ours: mbps(GiB, median(io.stdin)), baseline: mbps(GiB, pipe), baselineName: 'local pipe', unit: 'MB/s', target: { oursMin: 500 }, runs: RUNS, note: 'whole command, start-up included' }),
        figure({ name: 'CLI peak RSS, 1 GiB stdout at full speed', ours: median(rss.stdout), unit: 'kB', target: { oursMax: 100 * 1024 }, runs: RUNS }),
        figure({ name: 'CLI peak RSS, 1 GiB stdin at full speed', ours: median(rss.stdin), unit: 'kB', target: { oursMax: 100 * 1024 }, runs: RUNS }),
      );
    });

    ctx.log('peak RSS with a slow reader');
    await attempt(out, 'CLI peak RSS, 1 GiB stdout to a slow reader', async () => {
      const slow = await counted([sprites(['exec', 's', '--', 'head', '-c', String(GiB), '/dev/zero']), [NODE, [SLOW_READER]]], 0);
      const slowPipe = await counted([head, [NODE, [SLOW_READER]]]);
      out.figures.push(figure({ name: 'CLI peak RSS, 1 GiB stdout to a slow reader', ours: slow.peakRssKb, unit: 'kB', target: { oursMax: 100 * 1024 }, runs: 1, note: `reader drains ≤ 4 MiB per 20 ms; took ${(slow.ms / 1000).toFixed(1)} s vs ${(slowPipe.ms / 1000).toFixed(1)} s from a local pipe` }));
    });

    ctx.log(`${CONCURRENT} concurrent execs`);
    await attempt(out, `${CONCURRENT} concurrent \`sprites exec\``, async () => {
      const t0 = performance.now();
      const results = await Promise.all(
        Array.from({ length: CONCURRENT }, (_, i) => run(NODE, [BIN, 'exec', 's', '--', 'sh', '-c', 'echo "out-$1"; echo "err-$1" >&2; exit $(($1 % 7))', 'sh', String(i)], { env, timeoutMs: 180_000 })),
      );
      const wall = performance.now() - t0;
      const correct = results.filter((r, i) => r.code === i % 7 && r.stdout === `out-${i}\n` && r.stderr.includes(`err-${i}\n`)).length;
      const firstBad = results.findIndex((r, i) => !(r.code === i % 7 && r.stdout === `out-${i}\n`));
      out.figures.push(
        figure({
          name: `${CONCURRENT} concurrent \`sprites exec\` on one engine`,
          ours: wall,
          unit: 'ms',
          target: { ok: correct === CONCURRENT, text: `${CONCURRENT}/${CONCURRENT} correct` },
          runs: 1,
          note: `${correct}/${CONCURRENT} with the right stdout, stderr and exit code${firstBad >= 0 ? `; first bad #${firstBad}: exit ${results[firstBad].code}, ${JSON.stringify(results[firstBad].stderr.trim().slice(-200))}` : ''}; wall time for all`,
        }),
      );
    });
    return out;
  },
};

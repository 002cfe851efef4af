// Interleaved wall-time comparison of shell commands, for quick experiments on a noisy machine:
//   node bench/tools/compare.js [--runs N] 'CMD1' 'CMD2' ...   → median and p25/p75 of each
import { parseArgs } from 'node:util';
import { run, interleave, median, percentile } from '../lib.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { runs: { type: 'string', default: '15' } } });
const variants = Object.fromEntries(
  positionals.map((cmd) => [
    cmd,
    async () => {
      const r = await run('sh', ['-c', cmd], { env: process.env, cwd: process.cwd() });
      if (r.code !== 0) throw new Error(`${cmd} exited ${r.code}: ${r.stderr.slice(-300)}`);
      return r.ms;
    },
  ]),
);
const s = await interleave(variants, { runs: Number(values.runs), warmup: 2 });
const first = median(Object.values(s)[0]);
for (const [cmd, xs] of Object.entries(s)) {
  const m = median(xs);
  console.log(`${m.toFixed(1).padStart(7)} ms  (p25 ${percentile(xs, 25).toFixed(1)}, p75 ${percentile(xs, 75).toFixed(1)})  ${(m / first).toFixed(2)}×  ${cmd}`);
}

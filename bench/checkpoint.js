// checkpoint and restore of a sprite holding 1 GiB in 10,000 files, against `cp -a` of the same tree.
import { mkdirSync, writeFileSync, rmSync, mkdtempSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { NODE, BIN, GiB, run, runOk, interleave, median, figure, skipped, hasCommand } from './lib.js';

const FILES = 10_000;
const DIRS = 100;
const RUNS = 3;

/** FILES files in DIRS directories, GiB in total, contents varied (no two files alike). */
function writeTree(root) {
  const size = Math.floor(GiB / FILES);
  const pool = randomFillSync(Buffer.alloc(8 * 1024 * 1024));
  for (let d = 0; d < DIRS; d++) {
    const dir = join(root, `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < FILES / DIRS; f++) {
      const i = d * (FILES / DIRS) + f;
      const off = (i * 7919) % (pool.length - size);
      writeFileSync(join(dir, `f${f}.bin`), pool.subarray(off, off + size));
    }
  }
  return size * FILES;
}

export default {
  name: 'checkpoint',
  title: 'checkpoint and restore',
  description: `A sprite holding ${FILES.toLocaleString('en')} files of ${Math.floor(GiB / FILES).toLocaleString('en')} bytes (1 GiB) in ${DIRS} directories; the baseline copies the same tree with \`cp -a\` on the same filesystem.`,
  async run(ctx) {
    if (!hasCommand('checkpoint:create') || !hasCommand('checkpoint:restore')) {
      return { figures: [skipped('checkpoint / restore of 1 GiB in 10,000 files', 'not available yet (no checkpoint commands in this build)')] };
    }
    const engine = await ctx.startEngine();
    const scratch = mkdtempSync(join(tmpdir(), 'sprites-bench-cp-'));
    try {
      await engine.createSprite('cp');
      const tree = join(engine.homeOf('cp'), 'tree');
      ctx.log('writing 1 GiB in 10,000 files');
      writeTree(tree);
      let last;
      const s = await interleave(
        {
          cp: async () => {
            const dst = join(scratch, 'copy');
            const r = await runOk('cp', ['-a', tree, dst]);
            rmSync(dst, { recursive: true, force: true });
            return r.ms;
          },
          create: async () => {
            const r = await run(NODE, [BIN, 'checkpoint', 'create', 'cp', '--comment', 'bench'], { env: engine.env, timeoutMs: 300_000 });
            if (r.code !== 0) throw new Error(`checkpoint create exited ${r.code}: ${r.stderr.trim().slice(-300)}`);
            last = /\b(v\d+)\b/.exec(r.stdout + r.stderr)?.[1];
            if (!last) throw new Error(`checkpoint create did not name the checkpoint: ${r.stdout} ${r.stderr}`);
            return r.ms;
          },
          restore: async () => {
            const r = await run(NODE, [BIN, 'checkpoint', 'restore', 'cp', last, '--force'], { env: engine.env, timeoutMs: 300_000 });
            if (r.code !== 0) throw new Error(`checkpoint restore ${last} exited ${r.code}: ${r.stderr.trim().slice(-300)}`);
            return r.ms;
          },
        },
        { runs: RUNS, warmup: 0 },
      );
      const cp = median(s.cp);
      return {
        figures: [
          figure({ name: 'sprites checkpoint create (1 GiB, 10,000 files)', ours: median(s.create), baseline: cp, baselineName: 'cp -a', unit: 'ms', runs: RUNS, note: 'whole command' }),
          figure({ name: 'sprites checkpoint restore --force (same tree)', ours: median(s.restore), baseline: cp, baselineName: 'cp -a', unit: 'ms', runs: RUNS, note: 'whole command' }),
        ],
      };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
      await engine.stop();
    }
  },
};

// checkpoint and restore of a sprite holding 1 GiB in 10,000 files, against `cp -a` of the same tree.
import { rmSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { NODE, BIN, ROOT, GiB, run, runOk, interleave, median, figure, skipped, hasCommand } from './lib.js';

const WRITE_TREE = join(ROOT, 'bench', 'tools', 'write-tree.js');

const FILES = 10_000;
const DIRS = 100;
const RUNS = 3;

export default {
  name: 'checkpoint',
  title: 'checkpoint and restore',
  description: `A sprite holding ${FILES.toLocaleString('en')} files of ${Math.floor(GiB / FILES).toLocaleString('en')} bytes (1 GiB) in ${DIRS} directories; the baseline copies the same tree, written on the host, with \`cp -a\` on the same disk.`,
  async run(ctx) {
    if (!hasCommand('checkpoint:create') || !hasCommand('checkpoint:restore')) {
      return { figures: [skipped('checkpoint / restore of 1 GiB in 10,000 files', 'not available yet (no checkpoint commands in this build)')] };
    }
    const engine = await ctx.startEngine();
    const scratch = mkdtempSync(join(tmpdir(), 'sprites-bench-cp-'));
    try {
      await engine.createSprite('cp');
      ctx.log('writing 1 GiB in 10,000 files, in the sprite and on the host');
      // The same tree in the sprite (written through its own filesystem) and on the host for cp -a.
      const args = [String(FILES), String(DIRS), String(GiB)];
      await runOk(NODE, [BIN, 'exec', 'cp', '--', NODE, WRITE_TREE, 'tree', ...args], { env: engine.env, timeoutMs: 300_000 });
      const tree = join(scratch, 'tree');
      await runOk(NODE, [WRITE_TREE, tree, ...args], { timeoutMs: 300_000 });
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

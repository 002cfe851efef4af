// Start-up: how long the CLI takes for commands that do almost nothing, against `node -e 0` and
// the framework floor (`node -e "await import('@oclif/core')"`, unbundled), all measured in the same run.
// The CLI runs from its bundle (scripts/bundle.js).
import { NODE, BIN, run, interleave, median, figure, skipped, hasCommand, isolatedHome } from './lib.js';

const RUNS = 15;

export default {
  name: 'startup',
  title: 'Start-up',
  async run(ctx) {
    const engine = await ctx.engine();
    const home = isolatedHome();
    const canExec = hasCommand('exec');
    if (canExec) await engine.createSprite('s');
    const timed = (args, env = home.env, okCodes = [0]) => async () => {
      const r = await run(NODE, args, { env });
      if (!okCodes.includes(r.code)) throw new Error(`node ${args.join(' ')} exited ${r.code}: ${r.stderr.trim().slice(-300)}`);
      return r.ms;
    };
    const variants = {
      'node -e 0': timed(['-e', '0']),
      floor: timed(['-e', "await import('@oclif/core')"]),
      '--version': timed([BIN, '--version']),
      '--help': timed([BIN, '--help']),
      list: timed([BIN, 'list'], engine.env),
    };
    if (canExec) variants.exec = timed([BIN, 'exec', 's', '--', 'true'], engine.env);
    const s = await interleave(variants, { runs: RUNS, warmup: 2 });
    home.cleanup();
    const m = Object.fromEntries(Object.entries(s).map(([k, v]) => [k, median(v)]));
    const floorName = `node -e "await import('@oclif/core')"`;
    const figures = [
      figure({ name: floorName, ours: m.floor, baseline: m['node -e 0'], baselineName: 'node -e 0', unit: 'ms', runs: RUNS, note: 'the framework floor' }),
      figure({ name: 'sprites --version', ours: m['--version'], baseline: m.floor, baselineName: 'oclif floor', unit: 'ms', target: { max: 1.15 }, runs: RUNS }),
      figure({ name: 'sprites --help', ours: m['--help'], baseline: m.floor, baselineName: 'oclif floor', unit: 'ms', target: { max: 1.15 }, runs: RUNS }),
      figure({ name: 'sprites list (empty, running engine)', ours: m.list, baseline: m.floor, baselineName: 'oclif floor', unit: 'ms', target: { max: 1.15 }, runs: RUNS }),
      figure({ name: 'sprites --version', ours: m['--version'], baseline: m['node -e 0'], baselineName: 'node -e 0', unit: 'ms', runs: RUNS }),
      figure({ name: 'sprites list (empty, running engine)', ours: m.list, baseline: m['node -e 0'], baselineName: 'node -e 0', unit: 'ms', runs: RUNS }),
      canExec
        ? figure({ name: 'sprites exec s -- true', ours: m.exec, baseline: m['node -e 0'], baselineName: 'node -e 0', unit: 'ms', target: { max: 2.5 }, runs: RUNS })
        : skipped('sprites exec s -- true', 'not available yet (no exec command in this build)'),
    ];
    return { figures };
  },
};

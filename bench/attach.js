// attach: keystroke echo latency through `sprites attach` to a remote raw-mode `cat` in a TTY
// session, against the same program under a local PTY.
import { NODE, BIN, run, median, percentile, figure, skipped, hasCommand } from './lib.js';
import { ptyEchoLatencies, localPtyLatencies } from './baselines.js';

const KEYS = 1000;
const PROGRAM = ['sh', '-c', 'stty raw -echo; echo READY; exec cat'];

export default {
  name: 'attach',
  title: 'attach',
  description: `${KEYS} single keystrokes, each sent after the previous one came back; the remote program is \`${PROGRAM.join(' ')}\` started with \`sprites exec s --detach\`.`,
  async run(ctx) {
    if (!hasCommand('attach') || !hasCommand('exec')) return { figures: [skipped('attach keystroke echo', 'not available yet (no attach command in this build)')] };
    const engine = await ctx.engine();
    await engine.createSprite('s');
    const started = await run(NODE, [BIN, 'exec', 's', '--detach', '--', ...PROGRAM], { env: engine.env });
    const id = /(\d+)\s*$/.exec(started.stdout.trim())?.[1] ?? /session\s+(\S+)/.exec(started.stdout + started.stderr)?.[1];
    if (started.code !== 0 || !id) throw new Error(`exec --detach did not print a session id (exit ${started.code}): ${started.stdout} ${started.stderr}`);
    const local = await localPtyLatencies(KEYS);
    const remote = await ptyEchoLatencies(NODE, [BIN, 'attach', 's', id], { env: engine.env, keys: KEYS, ready: 'READY', timeoutMs: 10_000 });
    await run(NODE, [BIN, 'kill', 's', id, '--signal', 'KILL'], { env: engine.env }).catch(() => undefined);
    return {
      figures: [
        figure({ name: 'keystroke echo p50 through attach', ours: median(remote), baseline: median(local), baselineName: 'local PTY', unit: 'ms', runs: KEYS }),
        figure({ name: 'keystroke echo p99 through attach', ours: percentile(remote, 99), baseline: percentile(local, 99), baselineName: 'local PTY', unit: 'ms', runs: KEYS }),
      ],
    };
  },
};

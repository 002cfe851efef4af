import { Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { SpritesCommand } from '../../cli/base.js';
import { paths } from '../../lib/config.js';
import { engineStatus, ensureEngine, findEngine } from '../../lib/local.js';
import { isIsolationMode } from '../../protocol/isolation.js';
import { OperationError, UsageError } from '../../lib/errors.js';

export default class LocalStart extends SpritesCommand {
  static override description =
    'Start the local engine on 127.0.0.1 (detached unless --foreground). Commands start it on demand too.';
  static override examples = [
    '<%= config.bin %> local start',
    '<%= config.bin %> local start --port 7070 --data-dir ~/sprites-data',
    '<%= config.bin %> local start --foreground',
    '<%= config.bin %> local start --isolation host',
  ];
  static override flags = {
    port: Flags.integer({ description: 'port on 127.0.0.1 (default: a free one)', min: 0, max: 65535 }),
    'data-dir': Flags.string({ description: 'where sprites live (default: $XDG_DATA_HOME/sprites/engine)' }),
    foreground: Flags.boolean({ description: 'run in this process until Ctrl-C or SIGTERM' }),
    isolation: Flags.string({
      description: 'how sprites run: auto|sandbox|host; sandbox = Linux namespaces and an overlay root, host = plain processes, auto = sandbox when possible',
      default: 'auto',
      env: 'SPRITES_ISOLATION',
    }),
  };

  async run(): Promise<{ url: string; pid: number; data_dir: string; started: boolean }> {
    const { flags } = await this.parse(LocalStart);
    // Checked here rather than with oclif's `options`, whose refusal would not exit 2.
    const isolation = flags.isolation;
    if (!isIsolationMode(isolation)) {
      throw new UsageError(`invalid --isolation ${flags.isolation}: use auto, sandbox or host`);
    }
    const p = paths();
    const dataDir = resolve(flags['data-dir'] ?? p.dataDir);
    const running = await findEngine(p);
    if (flags.foreground) {
      if (running) throw new OperationError(`a local engine already runs at ${running.url} (pid ${running.pid}); stop it first: sprites local stop`);
      const { runEngine } = await import('../../engine/main.js');
      const { stopped } = await runEngine({
        dataDir,
        stateFile: p.engineStateFile,
        port: flags.port,
        isolation,
        onReady: (state) => {
          if (this.jsonEnabled()) process.stdout.write(JSON.stringify({ url: state.url, pid: state.pid, data_dir: state.data_dir, started: true }) + '\n');
          else process.stderr.write(`Local engine listening on ${state.url} (pid ${state.pid}, data ${state.data_dir}); Ctrl-C to stop\n`);
        },
      });
      await stopped;
      this.exit(0);
    }
    if (running) {
      if (!this.jsonEnabled()) process.stderr.write(`Local engine already running at ${running.url} (pid ${running.pid})\n`);
      return { url: running.url, pid: running.pid, data_dir: running.data_dir, started: false };
    }
    const { state } = await ensureEngine(p, { port: flags.port, dataDir, isolation });
    if (!this.jsonEnabled()) {
      process.stderr.write(`Local engine started at ${state.url} (pid ${state.pid}, data ${state.data_dir})\n`);
      const reason = (await engineStatus(state)).isolation?.reason;
      if (reason) process.stderr.write(`Sandbox isolation is not available (${reason}); sprites run as host processes\n`);
    }
    return { url: state.url, pid: state.pid, data_dir: state.data_dir, started: true };
  }
}

import { Flags } from '@oclif/core';
import { resolve } from 'node:path';
import { SpritesCommand } from '../../cli/base.js';
import { paths } from '../../lib/config.js';
import { ensureEngine, findEngine } from '../../lib/local.js';
import { OperationError } from '../../lib/errors.js';

export default class LocalStart extends SpritesCommand {
  static override description =
    'Start the local engine on 127.0.0.1 (detached unless --foreground). Commands start it on demand too.';
  static override examples = [
    '<%= config.bin %> local start',
    '<%= config.bin %> local start --port 7070 --data-dir ~/sprites-data',
    '<%= config.bin %> local start --foreground',
  ];
  static override flags = {
    port: Flags.integer({ description: 'port on 127.0.0.1 (default: a free one)', min: 0, max: 65535 }),
    'data-dir': Flags.string({ description: 'where sprites live (default: $XDG_DATA_HOME/sprites/engine)' }),
    foreground: Flags.boolean({ description: 'run in this process until Ctrl-C or SIGTERM' }),
  };

  async run(): Promise<{ url: string; pid: number; data_dir: string; started: boolean }> {
    const { flags } = await this.parse(LocalStart);
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
    const { state } = await ensureEngine(p, { port: flags.port, dataDir });
    if (!this.jsonEnabled()) process.stderr.write(`Local engine started at ${state.url} (pid ${state.pid}, data ${state.data_dir})\n`);
    return { url: state.url, pid: state.pid, data_dir: state.data_dir, started: true };
  }
}

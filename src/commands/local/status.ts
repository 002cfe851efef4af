import { SpritesCommand } from '../../cli/base.js';
import { paths } from '../../lib/config.js';
import { engineStatus, findEngine } from '../../lib/local.js';
import { printFields } from '../../lib/output.js';

interface LocalStatus {
  running: boolean;
  url?: string;
  pid?: number;
  data_dir?: string;
  started_at?: string;
  version?: string;
  sprites?: number;
  state_file: string;
}

export default class LocalStatusCommand extends SpritesCommand {
  static override description = 'Show whether the local engine runs, where, and what it holds. Exit 1 when it is not running.';
  static override examples = ['<%= config.bin %> local status', '<%= config.bin %> local status --json'];

  async run(): Promise<LocalStatus> {
    await this.parse(LocalStatusCommand);
    const p = paths();
    const state = await findEngine(p);
    let result: LocalStatus = { running: false, state_file: p.engineStateFile };
    if (state) {
      result = { running: true, ...(await engineStatus(state)), state_file: p.engineStateFile };
    }
    if (!this.jsonEnabled()) {
      if (!state) process.stderr.write('No local engine is running (start one with: sprites local start)\n');
      else {
        await printFields([
          ['url', result.url ?? '-'],
          ['pid', String(result.pid)],
          ['data dir', result.data_dir ?? '-'],
          ['started', result.started_at ?? '-'],
          ['version', result.version ?? '-'],
          ['sprites', String(result.sprites ?? 0)],
          ['state file', result.state_file],
        ]);
      }
    }
    if (!state) process.exitCode = 1;
    return result;
  }
}

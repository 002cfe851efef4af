import { SpritesCommand } from '../../cli/base.js';
import { paths } from '../../lib/config.js';
import { stopEngine } from '../../lib/local.js';

export default class LocalStop extends SpritesCommand {
  static override description = 'Stop the local engine. Sprites and their files stay on disk.';
  static override examples = ['<%= config.bin %> local stop'];

  async run(): Promise<{ stopped: boolean; pid: number | null }> {
    await this.parse(LocalStop);
    const state = await stopEngine(paths());
    if (!this.jsonEnabled()) process.stderr.write(state ? `Stopped the local engine (pid ${state.pid})\n` : 'No local engine is running\n');
    return { stopped: state !== undefined, pid: state?.pid ?? null };
  }
}

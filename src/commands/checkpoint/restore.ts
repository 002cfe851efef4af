import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { operationView } from '../../cli/operation-view.js';
import { confirm } from '../../cli/confirm.js';
import { restoreCheckpoint } from '../../lib/checkpoints.js';
import { UsageError } from '../../lib/errors.js';
import { notice } from '../../lib/output.js';

export default class CheckpointRestore extends SpritesCommand {
  static override description =
    "Restore a sprite's filesystem to a checkpoint. Every running session in the sprite is killed and changes since the checkpoint are lost. Asks on a terminal; needs --force otherwise. Exits 1 if the server reports an error or the stream ends before completion.";
  static override examples = ['<%= config.bin %> checkpoint restore demo v2', '<%= config.bin %> checkpoint restore demo v2 --force --json'];
  static override args = {
    name: Args.string({ ignoreStdin: true, description: 'sprite name', required: true }),
    id: Args.string({ ignoreStdin: true, description: 'checkpoint id (v0, v1, …)', required: true }),
  };
  static override flags = { force: Flags.boolean({ char: 'f', description: 'restore without asking' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CheckpointRestore);
    const name = this.spriteName(args.name);
    const id = args.id;
    if (!flags.force) {
      if (!process.stdin.isTTY || !process.stderr.isTTY) {
        throw new UsageError(`refusing to restore ${name} to ${id} without a terminal to confirm on: pass --force`);
      }
      const question = `Restore ${name} to ${id}? Every running session in ${name} is killed and changes since ${id} are lost. [y/N] `;
      if (!(await confirm(question))) {
        notice('Not restored.');
        this.exit(1);
      }
    } else if (!this.jsonEnabled()) {
      notice(`Restoring ${name} to ${id}: running sessions in ${name} will be killed.`);
    }
    const api = await this.api(flags);
    const view = await operationView(this.jsonEnabled(), `Restoring ${name} to ${id}...`);
    try {
      view.succeed(await restoreCheckpoint(api, name, id, view));
    } catch (err) {
      view.stop();
      throw err;
    }
  }
}

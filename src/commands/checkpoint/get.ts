import { Args } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { getCheckpoint } from '../../lib/checkpoints.js';
import { printFields } from '../../lib/output.js';
import type { Checkpoint } from '../../protocol/messages.js';

export default class CheckpointGet extends SpritesCommand {
  static override description = 'Show one checkpoint of a sprite.';
  static override examples = ['<%= config.bin %> checkpoint get demo v1', '<%= config.bin %> checkpoint get demo v1 --json'];
  static override args = {
    name: Args.string({ ignoreStdin: true, description: 'sprite name', required: true }),
    id: Args.string({ ignoreStdin: true, description: 'checkpoint id (v0, v1, …)', required: true }),
  };

  async run(): Promise<Checkpoint> {
    const { args, flags } = await this.parse(CheckpointGet);
    const name = this.spriteName(args.name);
    const checkpoint = await getCheckpoint(await this.api(flags), name, args.id);
    if (!this.jsonEnabled()) {
      await printFields([
        ['id', checkpoint.id],
        ['created', checkpoint.create_time],
        ['comment', checkpoint.comment ?? '-'],
        ['source', checkpoint.source_id ?? '-'],
      ]);
    }
    return checkpoint;
  }
}

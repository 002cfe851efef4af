import { Args } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { deleteCheckpoint } from '../../lib/checkpoints.js';
import { notice } from '../../lib/output.js';

export default class CheckpointDelete extends SpritesCommand {
  static override description =
    'Delete a checkpoint. The active checkpoint (the one the disk was last created from or restored to) cannot be deleted (exit 1).';
  static override aliases = ['checkpoint:rm'];
  static override examples = ['<%= config.bin %> checkpoint delete demo v0'];
  static override args = {
    name: Args.string({ ignoreStdin: true, description: 'sprite name', required: true }),
    id: Args.string({ ignoreStdin: true, description: 'checkpoint id (v0, v1, …)', required: true }),
  };

  async run(): Promise<{ name: string; id: string; deleted: boolean }> {
    const { args, flags } = await this.parse(CheckpointDelete);
    const name = this.spriteName(args.name);
    await deleteCheckpoint(await this.api(flags), name, args.id);
    if (!this.jsonEnabled()) notice(`Deleted checkpoint ${args.id} of ${name}`);
    return { name, id: args.id, deleted: true };
  }
}

import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { operationView } from '../../cli/operation-view.js';
import { createCheckpoint } from '../../lib/checkpoints.js';

export default class CheckpointCreate extends SpritesCommand {
  static override description =
    "Snapshot a sprite's filesystem. Progress streams to stderr; with --json every event is printed as NDJSON on stdout. Exits 1 if the server reports an error or the stream ends before completion.";
  static override examples = [
    '<%= config.bin %> checkpoint create demo',
    '<%= config.bin %> checkpoint create demo --comment "before upgrading postgres"',
    '<%= config.bin %> checkpoint create demo --json',
  ];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from .sprite)' }) };
  static override flags = { comment: Flags.string({ char: 'm', description: 'a note stored with the checkpoint' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(CheckpointCreate);
    const name = this.spriteName(args.name);
    const api = await this.api(flags);
    const view = await operationView(this.jsonEnabled(), `Creating a checkpoint of ${name}...`);
    try {
      view.succeed(await createCheckpoint(api, name, flags.comment, view));
    } catch (err) {
      view.stop();
      throw err;
    }
  }
}

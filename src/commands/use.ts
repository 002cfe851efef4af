import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../cli/base.js';
import { removeContext, writeContext } from '../lib/config.js';
import { UsageError } from '../lib/errors.js';

export default class Use extends SpritesCommand {
  static override description =
    'Set the sprite for this directory: writes a .sprite file that commands read when NAME is omitted.';
  static override examples = ['<%= config.bin %> use demo', '<%= config.bin %> use --unset'];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name' }) };
  static override flags = {
    unset: Flags.boolean({ description: 'remove the .sprite file in this directory' }),
    organization: Flags.string({ description: 'organization to record alongside the name' }),
  };

  async run(): Promise<{ sprite: string | null; file: string | null }> {
    const { args, flags } = await this.parse(Use);
    if (flags.unset) {
      if (args.name) throw new UsageError('pass either NAME or --unset, not both');
      const file = removeContext();
      if (!this.jsonEnabled()) process.stderr.write(file ? `Removed ${file}\n` : 'No .sprite file in this directory\n');
      return { sprite: null, file: file ?? null };
    }
    if (!args.name) throw new UsageError('missing sprite name: sprites use NAME (or --unset)');
    const name = this.spriteName(args.name);
    const file = writeContext(name, flags.organization);
    if (!this.jsonEnabled()) process.stderr.write(`Using sprite ${name} in this directory (${file})\n`);
    return { sprite: name, file };
  }
}

import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../cli/base.js';
import { deleteSprite } from '../lib/sprites.js';
import { confirm } from '../cli/confirm.js';
import { UsageError } from '../lib/errors.js';

export default class Delete extends SpritesCommand {
  static override description = 'Delete a sprite and everything in it. Asks on a terminal; needs --force otherwise.';
  static override aliases = ['destroy'];
  static override examples = ['<%= config.bin %> delete demo', '<%= config.bin %> delete demo --force'];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name', required: true }) };
  static override flags = { force: Flags.boolean({ char: 'f', description: 'delete without asking' }) };

  async run(): Promise<{ name: string; deleted: boolean }> {
    const { args, flags } = await this.parse(Delete);
    const name = this.spriteName(args.name);
    if (!flags.force) {
      if (!process.stdin.isTTY || !process.stderr.isTTY) {
        throw new UsageError(`refusing to delete ${name} without a terminal to confirm on: pass --force`);
      }
      if (!(await confirm(`Delete sprite ${name} and all its files? Type the name to confirm: `, name))) {
        process.stderr.write('Not deleted.\n');
        this.exit(1);
      }
    }
    await deleteSprite(await this.api(flags), name);
    if (!this.jsonEnabled()) process.stderr.write(`Deleted sprite ${name}\n`);
    return { name, deleted: true };
  }
}

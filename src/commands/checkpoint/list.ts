import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { CURRENT_ID, activeCheckpointId, listCheckpoints } from '../../lib/checkpoints.js';
import { notice, printRows, relativeTime, stdoutIsTTY } from '../../lib/output.js';
import type { Checkpoint } from '../../protocol/messages.js';

export default class CheckpointList extends SpritesCommand {
  static override description =
    "List a sprite's checkpoints: id, creation time, whether the disk was last created from or restored to it (current), comment. Piped: tab-separated rows.";
  static override aliases = ['checkpoint:ls'];
  static override examples = ['<%= config.bin %> checkpoint list demo', '<%= config.bin %> checkpoint ls demo --json'];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from .sprite)' }) };
  static override flags = { 'include-auto': Flags.boolean({ description: 'include automatic checkpoints' }) };

  async run(): Promise<Checkpoint[]> {
    const { args, flags } = await this.parse(CheckpointList);
    const name = this.spriteName(args.name);
    const list = await listCheckpoints(await this.api(flags), name, { includeAuto: flags['include-auto'] });
    if (this.jsonEnabled()) return list;
    const active = activeCheckpointId(list);
    const real = list.filter((c) => c.id !== CURRENT_ID);
    if (real.length === 0) {
      notice(`${name} has no checkpoints yet: sprites checkpoint create ${name}`);
      return list;
    }
    const tty = stdoutIsTTY();
    await printRows(
      ['ID', 'CREATED', 'CURRENT', 'COMMENT'],
      real.map((c) => [
        c.id,
        tty ? `${c.create_time} (${relativeTime(c.create_time)})` : c.create_time,
        c.id === active ? (tty ? '*' : 'current') : tty ? '' : '-',
        c.comment ?? (tty ? '' : '-'),
      ]),
    );
    return list;
  }
}

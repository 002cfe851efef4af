import { Flags } from '@oclif/core';
import { SpritesCommand } from '../cli/base.js';
import { listSprites } from '../lib/sprites.js';
import { printRows, relativeTime } from '../lib/output.js';
import type { Sprite } from '../protocol/messages.js';

export default class List extends SpritesCommand {
  static override description = 'List sprites. A table on a terminal; one name a line when piped.';
  static override aliases = ['ls'];
  static override examples = ['<%= config.bin %> list', '<%= config.bin %> ls --prefix api-', '<%= config.bin %> list --json | jq -r ".[].name"'];
  static override flags = {
    prefix: Flags.string({ description: 'only sprites whose name starts with this' }),
    limit: Flags.integer({ description: 'at most this many sprites', min: 1 }),
  };

  async run(): Promise<Sprite[]> {
    const { flags } = await this.parse(List);
    const api = await this.api(flags);
    const sprites = await listSprites(api, { prefix: flags.prefix, limit: flags.limit });
    if (!this.jsonEnabled()) {
      await printRows(
        ['NAME', 'STATUS', 'LABELS', 'CREATED', 'URL'],
        sprites.map((s) => [s.name, s.status ?? '-', s.labels?.join(',') || '-', relativeTime(s.created_at), s.url ?? '-']),
        [0],
      );
    }
    return sprites;
  }
}

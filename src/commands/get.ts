import { Args } from '@oclif/core';
import { SpritesCommand } from '../cli/base.js';
import { getSprite } from '../lib/sprites.js';
import { printSprite } from '../cli/render.js';
import type { Sprite } from '../protocol/messages.js';

export default class Get extends SpritesCommand {
  static override description = 'Show one sprite. Without NAME, the sprite named in the .sprite file.';
  static override aliases = ['info'];
  static override examples = ['<%= config.bin %> get demo', '<%= config.bin %> info demo --json'];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from .sprite)' }) };

  async run(): Promise<Sprite> {
    const { args, flags } = await this.parse(Get);
    const name = this.spriteName(args.name);
    const sprite = await getSprite(await this.api(flags), name);
    if (!this.jsonEnabled()) await printSprite(sprite);
    return sprite;
  }
}

import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../cli/base.js';
import { updateSprite } from '../lib/sprites.js';
import { printSprite } from '../cli/render.js';
import { UsageError } from '../lib/errors.js';
import type { Sprite, UpdateSpriteRequest } from '../protocol/messages.js';

export default class Update extends SpritesCommand {
  static override description = "Change a sprite's labels or URL access. --label replaces the whole label set.";
  static override examples = ['<%= config.bin %> update demo --label team=web --label env=dev', '<%= config.bin %> update demo --url-auth public'];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from .sprite)' }) };
  static override flags = {
    label: Flags.string({ description: 'label (repeatable; replaces the existing labels)', multiple: true }),
    'clear-labels': Flags.boolean({ description: 'remove every label', exclusive: ['label'] }),
    'url-auth': Flags.string({ description: 'who may reach the sprite URL', options: ['sprite', 'public'] }),
  };

  async run(): Promise<Sprite> {
    const { args, flags } = await this.parse(Update);
    const name = this.spriteName(args.name);
    const req: UpdateSpriteRequest = {};
    if (flags.label) req.labels = flags.label;
    if (flags['clear-labels']) req.labels = [];
    if (flags['url-auth']) req.url_settings = { auth: flags['url-auth'] as 'sprite' | 'public' };
    if (Object.keys(req).length === 0) throw new UsageError('nothing to update: pass --label, --clear-labels or --url-auth');
    const sprite = await updateSprite(await this.api(flags), name, req);
    if (!this.jsonEnabled()) await printSprite(sprite);
    return sprite;
  }
}

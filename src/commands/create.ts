import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../cli/base.js';
import { createSprite, parseKeyValues } from '../lib/sprites.js';
import { printSprite } from '../cli/render.js';
import type { CreateSpriteRequest, Sprite } from '../protocol/messages.js';

export default class Create extends SpritesCommand {
  static override description = 'Create a sprite: a persistent Linux sandbox with a durable filesystem.';
  static override examples = [
    '<%= config.bin %> create demo',
    '<%= config.bin %> create api-dev --label team=web --env DEBUG=1 --url-auth public',
    '<%= config.bin %> create big --ram-mb 4096 --cpus 2 --json',
  ];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (lowercase letters, digits, hyphens; 1-63)', required: true }) };
  static override flags = {
    label: Flags.string({ description: 'label to attach (repeatable)', multiple: true }),
    'url-auth': Flags.string({ description: 'who may reach the sprite URL', options: ['sprite', 'public'] }),
    env: Flags.string({ char: 'e', description: 'environment variable KEY=VALUE (repeatable)', multiple: true }),
    'ram-mb': Flags.integer({ description: 'memory in MiB', min: 1 }),
    cpus: Flags.integer({ description: 'CPU count', min: 1 }),
    region: Flags.string({ description: 'region to place the sprite in' }),
    'wait-for-capacity': Flags.boolean({ description: 'wait for capacity instead of failing when none is free' }),
  };

  async run(): Promise<Sprite> {
    const { args, flags } = await this.parse(Create);
    const name = this.spriteName(args.name);
    const req: CreateSpriteRequest = { name };
    if (flags.label?.length) req.labels = flags.label;
    if (flags['url-auth']) req.url_settings = { auth: flags['url-auth'] as 'sprite' | 'public' };
    if (flags.env?.length) req.environment = parseKeyValues(flags.env, '--env');
    const config = { ram_mb: flags['ram-mb'], cpus: flags.cpus, region: flags.region };
    if (Object.values(config).some((v) => v !== undefined)) req.config = JSON.parse(JSON.stringify(config));
    if (flags['wait-for-capacity']) req.wait_for_capacity = true;
    const api = await this.api(flags);
    const sprite = await createSprite(api, req);
    if (!this.jsonEnabled()) {
      if (process.stdout.isTTY) {
        process.stderr.write(`Created sprite ${sprite.name}\n`);
        await printSprite(sprite);
      } else {
        process.stdout.write(sprite.name + '\n');
      }
    }
    return sprite;
  }
}

// Human renderings of API objects shared by several commands.
import type { Sprite } from '../protocol/messages.js';
import { printFields, relativeTime } from '../lib/output.js';

export async function printSprite(sprite: Sprite): Promise<void> {
  await printFields([
    ['name', sprite.name],
    ['id', sprite.id],
    ['status', sprite.status],
    ['organization', sprite.organization ?? sprite.org_slug ?? '-'],
    ['labels', sprite.labels?.length ? sprite.labels.join(',') : '-'],
    ['url', sprite.url ?? '-'],
    ['url auth', sprite.url_settings?.auth ?? '-'],
    ['created', process.stdout.isTTY ? `${sprite.created_at} (${relativeTime(sprite.created_at)})` : sprite.created_at],
    ['updated', sprite.updated_at],
  ]);
}

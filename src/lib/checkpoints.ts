// Checkpoint calls (SPRITES-API.md §7) on top of ApiClient.
import type { Checkpoint } from '../protocol/messages.js';
import { ApiClient, ApiError, apiPath, type HttpResponse } from './api.js';
import { readOperationStream, type EventHandlers, type OperationEvent } from './events.js';
import { notFound } from './sprites.js';

/** Id of the pseudo entry some servers list for the sprite's current state. */
export const CURRENT_ID = 'Current';

export async function listCheckpoints(api: ApiClient, name: string, options: { includeAuto?: boolean } = {}): Promise<Checkpoint[]> {
  try {
    const list = await api.request<Checkpoint[]>('GET', apiPath('sprites', name, 'checkpoints'), {
      query: { include_auto: options.includeAuto ? 'true' : undefined },
    });
    return Array.isArray(list) ? list : [];
  } catch (err) {
    throw notFound(err, name);
  }
}

/** The checkpoint the sprite's disk was last created from or restored to, when the server says. */
export function activeCheckpointId(list: Checkpoint[]): string | undefined {
  return list.find((c) => c.id === CURRENT_ID)?.source_id;
}

export async function getCheckpoint(api: ApiClient, name: string, id: string): Promise<Checkpoint> {
  return api.request<Checkpoint>('GET', apiPath('sprites', name, 'checkpoints', id));
}

export async function deleteCheckpoint(api: ApiClient, name: string, id: string): Promise<void> {
  try {
    await api.request<void>('DELETE', apiPath('sprites', name, 'checkpoints', id));
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      throw new ApiError({
        status: 409,
        code: err.code,
        message: `${id} is the active checkpoint of ${name} (the one its disk was last created from or restored to) and cannot be deleted; create a newer checkpoint or restore another one first`,
        body: err.body,
        method: err.method,
        url: err.url,
      });
    }
    throw err;
  }
}

/** Create a checkpoint, handing each event over as it arrives; resolves with the `complete` event. */
export async function createCheckpoint(api: ApiClient, name: string, comment: string | undefined, handlers: EventHandlers): Promise<OperationEvent> {
  let res: HttpResponse;
  try {
    res = await api.stream('POST', apiPath('sprites', name, 'checkpoint'), {
      body: comment !== undefined ? { comment } : {},
      accept: 'application/x-ndjson',
    });
  } catch (err) {
    throw notFound(err, name);
  }
  return readOperationStream(res, `checkpoint of ${name}`, handlers);
}

/** Restore a checkpoint (kills the sprite's sessions); resolves with the `complete` event. */
export async function restoreCheckpoint(api: ApiClient, name: string, id: string, handlers: EventHandlers): Promise<OperationEvent> {
  const res = await api.stream('POST', apiPath('sprites', name, 'checkpoints', id, 'restore'), { accept: 'application/x-ndjson' });
  return readOperationStream(res, `restore of ${name} to ${id}`, handlers);
}

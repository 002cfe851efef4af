// Which driver runs the sprites (`--isolation auto|sandbox|host`) and what it enforces, as
// `sprites local status` reports it.
import type { SpriteDriver } from './driver.js';
import type { SpriteStore } from './store.js';
import { HostDriver, hostLedgerDir } from './drivers/host.js';
import { SandboxDriver } from './drivers/sandbox.js';
import { sandboxUnavailable } from './sandbox/probe.js';
import { PolicyStore } from './policy.js';
import type { NetworkPolicy, PrivilegesPolicy, ResourcesPolicy } from '../protocol/policy.js';
import { MemoryLimits } from './sandbox/memory.js';
import { isIsolationMode, type IsolationInfo, type IsolationMode, type IsolationProperties } from '../protocol/isolation.js';

export type { IsolationInfo, IsolationMode } from '../protocol/isolation.js';

export class IsolationError extends Error {}

export interface ChosenDriver {
  info: IsolationInfo;
  /** Builds the driver once the engine has its store. */
  create(store: SpriteStore): SpriteDriver;
}

const HOST_PROPERTIES: IsolationProperties = {
  durable_root: false,
  process_isolation: false,
  hostname: false,
  network_policy: false,
  memory_limit: false,
  privileges: false,
};

const SANDBOX_PROPERTIES: IsolationProperties = {
  durable_root: true,
  process_isolation: true,
  hostname: true,
  network_policy: true,
  memory_limit: false,
  privileges: true,
};

export function hostIsolation(requested: IsolationMode = 'host', reason?: string): IsolationInfo {
  return { requested, driver: 'host', ...(reason !== undefined ? { reason } : {}), properties: HOST_PROPERTIES };
}

/**
 * Pick the driver. `sandbox` fails when it cannot be built; `auto` then falls back to `host` and
 * says why. `hidden` are host directories sprites must not see (the engine's data and state).
 */
export async function chooseDriver(mode: IsolationMode, hidden: string[]): Promise<ChosenDriver> {
  if (mode === 'host') return { info: hostIsolation(mode), create: (store) => new HostDriver({ ledgerDir: hostLedgerDir(store) }) };
  const reason = await sandboxUnavailable();
  if (reason !== undefined) {
    if (mode === 'sandbox') throw new IsolationError(`--isolation sandbox is not possible here: ${reason}; use --isolation host or auto`);
    return { info: hostIsolation(mode, reason), create: (store) => new HostDriver({ ledgerDir: hostLedgerDir(store) }) };
  }
  const memory = await MemoryLimits.open();
  const limits = typeof memory === 'string' ? undefined : memory;
  return {
    info: {
      requested: mode,
      driver: 'sandbox',
      properties: { ...SANDBOX_PROPERTIES, memory_limit: limits !== undefined },
      ...(typeof memory === 'string' ? { notes: [`memory limit off: ${memory}`] } : {}),
    },
    create: (store) => new SandboxDriver({
        store,
        hidden,
        networkPolicy: async (sprite) => (await new PolicyStore(store).get(sprite, 'network')) as NetworkPolicy,
        privilegesPolicy: async (sprite) => (await new PolicyStore(store).get(sprite, 'privileges')) as PrivilegesPolicy,
        resourcesPolicy: async (sprite) => (await new PolicyStore(store).get(sprite, 'resources')) as ResourcesPolicy,
        ...(limits ? { memory: limits } : {}),
      }),
  };
}

export function parseIsolationMode(value: string | undefined): IsolationMode {
  const mode = value ?? 'auto';
  if (!isIsolationMode(mode)) throw new IsolationError(`invalid isolation "${value}": use auto, sandbox or host`);
  return mode;
}

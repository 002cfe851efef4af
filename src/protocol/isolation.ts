// How the local engine runs sprites (`--isolation`), and what it reports about it in
// GET /v1/local/status. Shared by the engine and `sprites local start|status`.

export const ISOLATION_MODES = ['auto', 'sandbox', 'host'] as const;
export type IsolationMode = (typeof ISOLATION_MODES)[number];

/** Each property a sprite has on the hosted service, and whether this engine enforces it. */
export interface IsolationProperties {
  /** The sprite sees a full root whose writes land on its own disk. */
  durable_root: boolean;
  /** Its processes see only each other. */
  process_isolation: boolean;
  /** `hostname` is the sprite's name. */
  hostname: boolean;
  /** Its network policy is enforced. */
  network_policy: boolean;
  /** Its memory limit is enforced. */
  memory_limit: boolean;
  /** Its privilege policy (no_new_privileges, profiles) is enforced. */
  privileges: boolean;
}

export interface IsolationInfo {
  requested: IsolationMode;
  driver: 'host' | 'sandbox';
  /** Why `auto` fell back to the host driver. */
  reason?: string;
  properties: IsolationProperties;
  /** Why a property is off although the sandbox runs (e.g. no memory cgroup). */
  notes?: string[];
}

export function isIsolationMode(value: string): value is IsolationMode {
  return (ISOLATION_MODES as readonly string[]).includes(value);
}

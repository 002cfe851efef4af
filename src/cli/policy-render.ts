// Human renderings of policy documents.
import type { NetworkPolicy, PrivilegesPolicy, ResourcesPolicy } from '../protocol/policy.js';
import { notice, printFields, printRows } from '../lib/output.js';

/** Rules as a table on a TTY; piped, one `ACTION<TAB>DOMAIN` line per rule (`include<TAB>defaults`). */
export async function printRules(name: string, policy: NetworkPolicy): Promise<void> {
  if (policy.rules.length === 0) {
    notice(`${name} has no network rules (no policy)`);
    return;
  }
  await printRows(
    ['#', 'ACTION', 'DOMAIN'],
    policy.rules.map((r, i) => ('include' in r ? [String(i), 'include', 'defaults'] : [String(i), r.action, r.domain])),
    [1, 2],
  );
}

export async function printPrivileges(p: PrivilegesPolicy): Promise<void> {
  await printFields([
    ['profile', p.profile || '-'],
    ['no_new_privileges', p.no_new_privileges === undefined ? '-' : String(p.no_new_privileges)],
    ['devices', p.devices?.length ? p.devices.join(',') : '-'],
  ]);
}

export async function printResources(r: ResourcesPolicy): Promise<void> {
  await printFields([
    ['memory_limit_mb', r.memory ? String(r.memory.limit_mb) : '-'],
    ['autoscale', r.memory?.autoscale === undefined ? '-' : String(r.memory.autoscale)],
  ]);
}

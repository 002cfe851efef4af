// A sprite's privileges policy (SPRITES-API.md §8) as a setpriv prefix for its commands. The
// sandbox runs commands as root, so the profile is expressed as the capability bounding set (what
// root keeps after exec) and no_new_privileges as the kernel flag of that name.
import type { PrivilegesPolicy } from '../../protocol/policy.js';

/** The capabilities a container runtime grants by default (Docker's list). */
const STANDARD = [
  'chown',
  'dac_override',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'net_bind_service',
  'net_raw',
  'sys_chroot',
  'mknod',
  'audit_write',
  'setfcap',
];

/** Bounding sets per profile; the empty profile (none set) is standard. */
const BOUNDING: Record<string, string | undefined> = {
  minimal: '-all',
  standard: ['-all', ...STANDARD.map((c) => `+${c}`)].join(','),
  '': ['-all', ...STANDARD.map((c) => `+${c}`)].join(','),
  // Every capability root has: nothing to drop.
  privileged: undefined,
};

export function privilegesPrefix(policy: PrivilegesPolicy): string[] {
  const args: string[] = [];
  const bounding = BOUNDING[policy.profile ?? ''];
  if (bounding !== undefined) args.push(`--bounding-set=${bounding}`);
  if (policy.no_new_privileges) args.push('--no-new-privs');
  return args.length ? ['/usr/bin/setpriv', ...args] : [];
}

// Decide whether a sandboxed sprite may reach a host name, from its network policy
// (SPRITES-API.md §8): the most specific matching rule wins (an exact name, then the longest
// `*.suffix`, then `*`); raw IP addresses are refused whenever a policy is set.
import { isIP } from 'node:net';
import type { NetworkPolicy } from '../../protocol/policy.js';

export type Verdict = { allowed: true } | { allowed: false; reason: string };

/** How specific a pattern is for this host, or -1 when it does not match. */
function specificity(pattern: string, host: string): number {
  if (pattern === '*') return 0;
  if (pattern.startsWith('*.')) {
    const suffix = pattern.slice(1).toLowerCase();
    return host.endsWith(suffix) && host.length > suffix.length ? suffix.length : -1;
  }
  // An exact name beats every wildcard.
  return pattern.toLowerCase() === host ? Number.MAX_SAFE_INTEGER : -1;
}

export function decide(policy: NetworkPolicy, rawHost: string): Verdict {
  const host = rawHost.toLowerCase().replace(/\.$/, '');
  const rules = policy.rules.filter((r): r is { domain: string; action: 'allow' | 'deny' } => 'domain' in r);
  if (rules.length === 0) return { allowed: true };
  if (isIP(host.replace(/^\[|\]$/g, ''))) return { allowed: false, reason: `raw IP address ${rawHost} is blocked by the network policy` };
  let best: { score: number; action: 'allow' | 'deny'; domain: string } | undefined;
  for (const rule of rules) {
    const score = specificity(rule.domain, host);
    // On a tie (the same pattern twice) the later rule wins, as a replaced document would.
    if (score >= 0 && (!best || score >= best.score)) best = { score, action: rule.action, domain: rule.domain };
  }
  if (best) {
    return best.action === 'allow' ? { allowed: true } : { allowed: false, reason: `${host} is denied by the rule for ${best.domain}` };
  }
  // No rule names this host: an allow list refuses it; a deny list lets it through.
  return rules.some((r) => r.action === 'allow') ? { allowed: false, reason: `${host} is not allowed by the network policy` } : { allowed: true };
}

// Policy calls (SPRITES-API.md §8) on top of ApiClient. Documents are validated with the shared
// rules of src/protocol/policy.ts before anything is sent (a bad document is a usage error).
import { readFile } from 'node:fs/promises';
import { ApiClient, apiPath } from './api.js';
import { UsageError } from './errors.js';
import { notFound } from './sprites.js';
import {
  domainPatternProblem,
  validateNetworkPolicy,
  validatePrivilegesPolicy,
  validateResourcesPolicy,
  type NetworkAction,
  type NetworkPolicy,
  type NetworkRule,
  type PrivilegesPolicy,
  type ResourcesPolicy,
  type Validation,
} from '../protocol/policy.js';

function checked<T>(what: string, result: Validation<T>): T {
  if (!result.ok) throw new UsageError(`invalid ${what}:\n  ${result.problems.join('\n  ')}`);
  return result.value;
}

export async function getNetworkPolicy(api: ApiClient, name: string): Promise<NetworkPolicy> {
  try {
    const doc = await api.request<NetworkPolicy | undefined>('GET', apiPath('sprites', name, 'policy', 'network'));
    return { rules: Array.isArray(doc?.rules) ? doc.rules : [] };
  } catch (err) {
    throw notFound(err, name);
  }
}

/** Replace the whole rule set (validated first). */
export async function setNetworkPolicy(api: ApiClient, name: string, doc: unknown): Promise<NetworkPolicy> {
  const policy = checked('network policy', validateNetworkPolicy(doc));
  try {
    await api.request<void>('POST', apiPath('sprites', name, 'policy', 'network'), { body: policy });
  } catch (err) {
    throw notFound(err, name);
  }
  return policy;
}

/** Usage error naming every domain pattern that is not valid. */
export function checkDomains(domains: string[]): void {
  const problems = domains.map(domainPatternProblem).filter((p): p is string => p !== null);
  if (problems.length) throw new UsageError(problems.join('\n'));
}

/** Give each domain the action: change its rule in place, or append one. */
export function withAction(rules: NetworkRule[], domains: string[], action: NetworkAction): NetworkRule[] {
  const out = rules.map((r) => ('domain' in r && domains.includes(r.domain) ? { domain: r.domain, action } : r));
  for (const d of domains) {
    if (!out.some((r) => 'domain' in r && r.domain === d)) out.push({ domain: d, action });
  }
  return out;
}

/** Drop every rule for the domains; also says which domains had no rule. */
export function withoutDomains(rules: NetworkRule[], domains: string[]): { rules: NetworkRule[]; missing: string[] } {
  const missing = domains.filter((d) => !rules.some((r) => 'domain' in r && r.domain === d));
  return { rules: rules.filter((r) => !('domain' in r && domains.includes(r.domain))), missing };
}

/** Read a policy document from a file, or stdin for `-`. */
export async function readPolicyFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = path === '-' ? await readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new UsageError(`${path === '-' ? 'stdin' : path} is not valid JSON: ${(err as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

type PolicyKind = 'privileges' | 'resources';

/** GET a privileges/resources document; `{}` when the sprite has none. */
async function getDocument<T>(api: ApiClient, name: string, kind: PolicyKind): Promise<T> {
  try {
    return (await api.request<T | undefined>('GET', apiPath('sprites', name, 'policy', kind))) ?? ({} as T);
  } catch (err) {
    throw notFound(err, name);
  }
}

/** POST a document that has already been validated; returns it. */
async function setDocument<T>(api: ApiClient, name: string, kind: PolicyKind, policy: T): Promise<T> {
  try {
    await api.request<void>('POST', apiPath('sprites', name, 'policy', kind), { body: policy });
  } catch (err) {
    throw notFound(err, name);
  }
  return policy;
}

async function resetDocument(api: ApiClient, name: string, kind: PolicyKind): Promise<void> {
  try {
    await api.request<void>('DELETE', apiPath('sprites', name, 'policy', kind));
  } catch (err) {
    throw notFound(err, name);
  }
}

export const getPrivileges = (api: ApiClient, name: string) => getDocument<PrivilegesPolicy>(api, name, 'privileges');
export const setPrivileges = (api: ApiClient, name: string, doc: PrivilegesPolicy) =>
  setDocument(api, name, 'privileges', checked('privileges policy', validatePrivilegesPolicy(doc)));
export const resetPrivileges = (api: ApiClient, name: string) => resetDocument(api, name, 'privileges');

export const getResources = (api: ApiClient, name: string) => getDocument<ResourcesPolicy>(api, name, 'resources');
export const setResources = (api: ApiClient, name: string, doc: ResourcesPolicy) =>
  setDocument(api, name, 'resources', checked('resources policy', validateResourcesPolicy(doc)));
export const resetResources = (api: ApiClient, name: string) => resetDocument(api, name, 'resources');

/** Read the rule set, change it, write the whole document back (POST replaces it); the result. */
export async function changeRules(api: ApiClient, name: string, change: (rules: NetworkRule[]) => NetworkRule[]): Promise<NetworkPolicy> {
  const current = await getNetworkPolicy(api, name);
  return setNetworkPolicy(api, name, { rules: change(current.rules) });
}

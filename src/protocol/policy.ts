// Policy documents (SPRITES-API.md §8) and their validation. Pure and shared: the client checks a
// document with exactly these rules before sending it, and the engine answers 400 with the same reasons.

export type NetworkAction = 'allow' | 'deny';

export type NetworkRule = { domain: string; action: NetworkAction } | { include: 'defaults' };

export interface NetworkPolicy {
  rules: NetworkRule[];
}

export type PrivilegeProfile = '' | 'minimal' | 'standard' | 'privileged';
export const PRIVILEGE_PROFILES: readonly PrivilegeProfile[] = ['', 'minimal', 'standard', 'privileged'];

export interface PrivilegesPolicy {
  profile?: PrivilegeProfile;
  devices?: string[];
  no_new_privileges?: boolean;
}

export interface ResourcesPolicy {
  memory?: { limit_mb: number; autoscale?: boolean };
}

export type Validation<T> = { ok: true; value: T } | { ok: false; problems: string[] };

/** Most rules one network policy may hold (keeps every document small). */
export const MAX_RULES = 1000;
export const MAX_DEVICES = 64;

const LABEL_RE = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/** Why a domain pattern is invalid, or null: an exact name, `*.suffix`, or `*`. */
export function domainPatternProblem(pattern: unknown): string | null {
  if (typeof pattern !== 'string') return 'domain must be a string';
  if (pattern === '*') return null;
  const name = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  const shape = 'a domain is an exact name (example.com), a suffix wildcard (*.example.com) or * alone';
  if (pattern === '') return `domain is empty: ${shape}`;
  if (name === '') return `domain ${JSON.stringify(pattern)} is empty after "*.": ${shape}`;
  if (name.length > 253) return `domain ${JSON.stringify(pattern)} is longer than 253 characters`;
  if (name.includes('*')) return `domain ${JSON.stringify(pattern)} has a wildcard that is not a leading "*.": ${shape}`;
  const labels = name.split('.');
  const bad = labels.find((l) => !LABEL_RE.test(l));
  if (bad !== undefined) {
    return `domain ${JSON.stringify(pattern)} is not a DNS name (label ${JSON.stringify(bad)}): ${shape}`;
  }
  if (labels.every((l) => /^[0-9]+$/.test(l))) {
    return `domain ${JSON.stringify(pattern)} is an IP address: policies match DNS names and raw IPs are always blocked`;
  }
  return null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function ruleProblems(rule: unknown, i: number): string[] {
  const at = `rules[${i}]`;
  if (!isObject(rule)) return [`${at}: must be an object, either {"domain", "action"} or {"include": "defaults"}`];
  const keys = Object.keys(rule);
  if ('include' in rule) {
    const extra = keys.filter((k) => k !== 'include');
    if (extra.length) return [`${at}: an include rule holds only "include", not ${extra.map((k) => JSON.stringify(k)).join(', ')}`];
    if (rule.include !== 'defaults') return [`${at}: include must be "defaults", not ${JSON.stringify(rule.include)}`];
    return [];
  }
  const problems: string[] = [];
  const unknown = keys.filter((k) => k !== 'domain' && k !== 'action');
  if (unknown.length) problems.push(`${at}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')}`);
  if (!('domain' in rule)) problems.push(`${at}: "domain" is required (or use {"include": "defaults"})`);
  else {
    const p = domainPatternProblem(rule.domain);
    if (p) problems.push(`${at}: ${p}`);
  }
  if (!('action' in rule)) problems.push(`${at}: "action" is required ("allow" or "deny")`);
  else if (rule.action !== 'allow' && rule.action !== 'deny') {
    problems.push(`${at}: action must be "allow" or "deny", not ${JSON.stringify(rule.action)}`);
  }
  return problems;
}

/** Validate a whole network policy document. */
export function validateNetworkPolicy(doc: unknown): Validation<NetworkPolicy> {
  if (!isObject(doc)) return { ok: false, problems: ['the policy must be a JSON object {"rules": [...]}'] };
  const problems: string[] = [];
  const unknown = Object.keys(doc).filter((k) => k !== 'rules');
  if (unknown.length) problems.push(`unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (a policy holds only "rules")`);
  if (!('rules' in doc)) problems.push('"rules" is required (use {"rules": []} for no policy)');
  else if (!Array.isArray(doc.rules)) problems.push('"rules" must be an array');
  else if (doc.rules.length > MAX_RULES) problems.push(`"rules" holds ${doc.rules.length} rules; at most ${MAX_RULES} are allowed`);
  else doc.rules.forEach((r, i) => problems.push(...ruleProblems(r, i)));
  if (problems.length) return { ok: false, problems };
  return { ok: true, value: { rules: (doc.rules as NetworkRule[]).map(normalizeRule) } };
}

function normalizeRule(rule: NetworkRule): NetworkRule {
  return 'include' in rule ? { include: 'defaults' } : { domain: rule.domain, action: rule.action };
}

export function validatePrivilegesPolicy(doc: unknown): Validation<PrivilegesPolicy> {
  if (!isObject(doc)) return { ok: false, problems: ['the privileges policy must be a JSON object'] };
  const problems: string[] = [];
  const out: PrivilegesPolicy = {};
  for (const key of Object.keys(doc)) {
    if (key !== 'profile' && key !== 'devices' && key !== 'no_new_privileges') {
      problems.push(`unknown key ${JSON.stringify(key)} (allowed: profile, devices, no_new_privileges)`);
    }
  }
  if (doc.profile !== undefined) {
    if (!PRIVILEGE_PROFILES.includes(doc.profile as PrivilegeProfile)) {
      problems.push(`profile must be one of "", "minimal", "standard", "privileged", not ${JSON.stringify(doc.profile)}`);
    } else out.profile = doc.profile as PrivilegeProfile;
  }
  if (doc.devices !== undefined) {
    if (!Array.isArray(doc.devices)) problems.push('devices must be an array of device paths');
    else if (doc.devices.length > MAX_DEVICES) problems.push(`devices holds ${doc.devices.length} entries; at most ${MAX_DEVICES} are allowed`);
    else {
      doc.devices.forEach((d, i) => {
        const p = devicePathProblem(d);
        if (p) problems.push(`devices[${i}]: ${p}`);
      });
      out.devices = doc.devices as string[];
    }
  }
  if (doc.no_new_privileges !== undefined) {
    if (typeof doc.no_new_privileges !== 'boolean') problems.push('no_new_privileges must be true or false');
    else out.no_new_privileges = doc.no_new_privileges;
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: out };
}

/** Why a device path is invalid, or null: an absolute path under /dev without `.` or `..` parts. */
export function devicePathProblem(device: unknown): string | null {
  if (typeof device !== 'string') return 'a device must be a string such as /dev/fuse';
  if (!/^\/dev\/[A-Za-z0-9_.+-]+(?:\/[A-Za-z0-9_.+-]+)*$/.test(device) || device.split('/').some((p) => p === '.' || p === '..')) {
    return `device ${JSON.stringify(device)} is not a path under /dev (such as /dev/fuse)`;
  }
  return null;
}

export function validateResourcesPolicy(doc: unknown): Validation<ResourcesPolicy> {
  if (!isObject(doc)) return { ok: false, problems: ['the resources policy must be a JSON object'] };
  const problems: string[] = [];
  for (const key of Object.keys(doc)) {
    if (key !== 'memory') problems.push(`unknown key ${JSON.stringify(key)} (allowed: memory)`);
  }
  const out: ResourcesPolicy = {};
  if (doc.memory !== undefined) {
    const m = doc.memory;
    if (!isObject(m)) problems.push('memory must be an object {"limit_mb": N, "autoscale"?: bool}');
    else {
      for (const key of Object.keys(m)) {
        if (key !== 'limit_mb' && key !== 'autoscale') problems.push(`memory: unknown key ${JSON.stringify(key)} (allowed: limit_mb, autoscale)`);
      }
      if (m.limit_mb === undefined) problems.push('memory.limit_mb is required');
      else if (typeof m.limit_mb !== 'number' || !Number.isInteger(m.limit_mb) || m.limit_mb < 1 || m.limit_mb > 1024 * 1024) {
        problems.push(`memory.limit_mb must be a whole number of MiB from 1 to 1048576, not ${JSON.stringify(m.limit_mb)}`);
      }
      if (m.autoscale !== undefined && typeof m.autoscale !== 'boolean') problems.push('memory.autoscale must be true or false');
      if (problems.length === 0) {
        out.memory = { limit_mb: m.limit_mb as number, ...(m.autoscale !== undefined ? { autoscale: m.autoscale as boolean } : {}) };
      }
    }
  }
  return problems.length ? { ok: false, problems } : { ok: true, value: out };
}

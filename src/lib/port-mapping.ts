// Parsing of `sprites proxy` port mappings and `-W` targets. Pure: no I/O, throws UsageError only.
import { UsageError } from './errors.js';

export interface PortMapping {
  /** Local port; 0 means "pick a free one". */
  local: number;
  remote: number;
}

export interface StdioTarget {
  /** Empty when not given: the sprite's localhost. */
  host: string;
  port: number;
}

const MAPPING_HELP = 'use PORT, LOCAL:REMOTE or 0:REMOTE with ports from 1 to 65535 (0 only as LOCAL)';

/** A decimal port number, or null when the text is not one (no signs, spaces, exponents or hex). */
function portNumber(text: string): number | null {
  if (!/^[0-9]{1,5}$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

/** `PORT` (local PORT → remote PORT), `LOCAL:REMOTE`, or `0:REMOTE` (a free local port). */
export function parsePortMapping(spec: string): PortMapping {
  const parts = spec.split(':');
  const bad = (why: string) => new UsageError(`invalid port mapping ${JSON.stringify(spec)}: ${why}; ${MAPPING_HELP}`);
  if (parts.length === 1) {
    const port = portNumber(parts[0]!);
    if (port === null || port === 0) throw bad('not a port number from 1 to 65535');
    return { local: port, remote: port };
  }
  if (parts.length !== 2) throw bad('too many colons');
  const local = portNumber(parts[0]!);
  const remote = portNumber(parts[1]!);
  if (local === null) throw bad(`local port ${JSON.stringify(parts[0])} is not a number from 0 to 65535`);
  if (remote === null || remote === 0) throw bad(`remote port ${JSON.stringify(parts[1])} is not a number from 1 to 65535`);
  return { local, remote };
}

/** Several mappings; the same local port twice is refused (0 may repeat). */
export function parsePortMappings(specs: readonly string[]): PortMapping[] {
  if (specs.length === 0) throw new UsageError(`missing port mapping: ${MAPPING_HELP}, e.g. "sprites proxy NAME 8080"`);
  const mappings = specs.map(parsePortMapping);
  const seen = new Set<number>();
  for (const m of mappings) {
    if (m.local === 0) continue;
    if (seen.has(m.local)) throw new UsageError(`local port ${m.local} is mapped twice; give each mapping its own LOCAL port`);
    seen.add(m.local);
  }
  return mappings;
}

/** `PORT`, `HOST:PORT` or `[IPV6]:PORT`, for `-W/--stdio`. */
export function parseStdioTarget(spec: string): StdioTarget {
  const bad = (why: string) => new UsageError(`invalid --stdio target ${JSON.stringify(spec)}: ${why}; use [HOST:]PORT, e.g. -W 22 or -W localhost:22`);
  let host = '';
  let portText = spec;
  const bracketed = /^\[([^\]]*)\]:([^:]*)$/.exec(spec);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
    if (host === '') throw bad('empty host');
  } else if (spec.includes(':')) {
    const at = spec.lastIndexOf(':');
    host = spec.slice(0, at);
    portText = spec.slice(at + 1);
    if (host === '') throw bad('empty host');
    if (host.includes(':')) throw bad('write an IPv6 host in brackets');
  }
  if (/[\s/@]/.test(host)) throw bad(`host ${JSON.stringify(host)} is not a host name or address`);
  const port = portNumber(portText);
  if (port === null || port === 0) throw bad('not a port number from 1 to 65535');
  return { host, port };
}

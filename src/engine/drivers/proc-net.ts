// Which TCP ports a process tree listens on, read from /proc (Linux): the LISTEN sockets of
// /proc/net/tcp{,6} whose inodes are open as fds of the given pids or their descendants.
import { readdir, readFile, readlink } from 'node:fs/promises';
import type { ListeningPort } from '../driver.js';

const TCP_LISTEN = '0A';

/** pid → parent pid, for every process we can see. */
async function parentMap(): Promise<Map<number, number>> {
  const parents = new Map<number, number>();
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return parents;
  }
  await Promise.all(
    entries.map(async (name) => {
      if (!/^\d+$/.test(name)) return;
      try {
        const stat = await readFile(`/proc/${name}/stat`, 'latin1');
        // The command name may hold spaces and parentheses: fields start after the last ')'.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parents.set(Number(name), Number(fields[1]));
      } catch {
        // Exited while we looked.
      }
    }),
  );
  return parents;
}

/** The pids and every descendant of them. */
export async function processTree(roots: number[]): Promise<Set<number>> {
  const tree = new Set(roots.filter((p) => p > 0));
  if (tree.size === 0) return tree;
  const parents = await parentMap();
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  const queue = [...tree];
  while (queue.length) {
    for (const child of children.get(queue.pop()!) ?? []) {
      if (!tree.has(child)) {
        tree.add(child);
        queue.push(child);
      }
    }
  }
  return tree;
}

/** socket inode → pid, for the sockets those processes hold. */
async function socketInodes(pids: Iterable<number>): Promise<Map<string, number>> {
  const inodes = new Map<string, number>();
  await Promise.all(
    [...pids].map(async (pid) => {
      let fds: string[];
      try {
        fds = await readdir(`/proc/${pid}/fd`);
      } catch {
        return;
      }
      await Promise.all(
        fds.map(async (fd) => {
          try {
            const target = await readlink(`/proc/${pid}/fd/${fd}`);
            const m = /^socket:\[(\d+)\]$/.exec(target);
            if (m && !inodes.has(m[1]!)) inodes.set(m[1]!, pid);
          } catch {
            // Closed while we looked.
          }
        }),
      );
    }),
  );
  return inodes;
}

/** Parse /proc/net/tcp or tcp6: LISTEN sockets as {inode, port, address}. */
export function parseProcNetTcp(text: string, v6: boolean): Array<{ inode: string; port: number; address: string }> {
  const out: Array<{ inode: string; port: number; address: string }> = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || f[3] !== TCP_LISTEN) continue;
    const [hexAddr, hexPort] = f[1]!.split(':');
    if (!hexAddr || !hexPort) continue;
    out.push({ inode: f[9]!, port: parseInt(hexPort, 16), address: v6 ? ipv6(hexAddr) : ipv4(hexAddr) });
  }
  return out;
}

// /proc prints addresses as 32-bit words in host (little-endian) byte order.
function ipv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

function ipv6(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    for (let b = 3; b >= 0; b--) bytes.push(parseInt(word.slice(b * 2, b * 2 + 2), 16));
  }
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  const joined = groups.join(':');
  if (joined === '0:0:0:0:0:0:0:0') return '::';
  if (joined === '0:0:0:0:0:0:0:1') return '::1';
  if (joined.startsWith('0:0:0:0:0:ffff:')) return ipv4FromBytes(bytes.slice(12));
  return joined;
}

function ipv4FromBytes(b: number[]): string {
  return b.join('.');
}

async function readOr(path: string): Promise<string> {
  try {
    return await readFile(path, 'latin1');
  } catch {
    return '';
  }
}

/** `netDir` is the /proc/net to read: /proc/<pid>/net for another network namespace. */
export async function listeningPortsOf(pids: number[], netDir = '/proc/net'): Promise<ListeningPort[]> {
  const tree = await processTree(pids);
  if (tree.size === 0) return [];
  const inodes = await socketInodes(tree);
  if (inodes.size === 0) return [];
  const [tcp, tcp6] = await Promise.all([readOr(`${netDir}/tcp`), readOr(`${netDir}/tcp6`)]);
  const seen = new Set<string>();
  const out: ListeningPort[] = [];
  for (const sock of [...parseProcNetTcp(tcp, false), ...parseProcNetTcp(tcp6, true)]) {
    const pid = inodes.get(sock.inode);
    if (pid === undefined) continue;
    const key = `${sock.address}:${sock.port}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ port: sock.port, address: sock.address, pid });
  }
  return out.sort((a, b) => a.port - b.port || a.address.localeCompare(b.address));
}

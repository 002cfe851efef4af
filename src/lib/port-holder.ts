// Which local process listens on a TCP port, for the "port in use" error. Linux only (/proc);
// elsewhere, or when the holder belongs to another user, the answer is null.
import { readFile, readdir, readlink } from 'node:fs/promises';

export interface PortHolder {
  pid: number;
  command: string;
}

/** Socket inodes listening on the port, from /proc/net/tcp and tcp6. */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is col 1 ("ADDR:PORT"), state col 3 (0A = LISTEN), inode col 9.
      if (cols.length < 10 || cols[3] !== '0A') continue;
      if (cols[1]!.split(':')[1] === hexPort) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

export async function findPortHolder(port: number): Promise<PortHolder | null> {
  if (process.platform !== 'linux') return null;
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return null;
  let pids: string[];
  try {
    pids = (await readdir('/proc')).filter((p) => /^[0-9]+$/.test(p));
  } catch {
    return null;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = await readlink(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) {
        let command = '';
        try {
          command = (await readFile(`/proc/${pid}/comm`, 'utf8')).trim();
        } catch {
          // The process ended meanwhile; the pid alone still helps.
        }
        return { pid: Number(pid), command };
      }
    }
  }
  return null;
}

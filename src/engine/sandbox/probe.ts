// Whether this host can build sandboxes: tries the real thing once (new namespaces and an overlay
// of `/`), so `auto` falls back to the host driver with the actual reason.
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setnsSyscall } from './enter.js';

const TOOLS = ['unshare', 'nsenter', 'setpriv', 'ip', 'pivot_root', 'perl'];
const SYSTEM_PATH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function findTool(name: string): string | undefined {
  for (const dir of SYSTEM_PATH) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** Why sandboxes cannot be built here, or undefined when they can. */
export async function sandboxUnavailable(): Promise<string | undefined> {
  if (process.platform !== 'linux') return `sandboxes need Linux namespaces (this is ${process.platform})`;
  if (setnsSyscall() === undefined) return `sandboxes are not supported on ${process.arch} yet`;
  if (process.getuid?.() !== 0) return 'sandboxes need the engine to run as root (user namespaces are not supported yet)';
  const missing = TOOLS.filter((t) => !findTool(t));
  if (missing.length) return `missing ${missing.join(', ')} (Debian: util-linux, iproute2, perl-base)`;
  const dir = await mkdtemp(join(tmpdir(), 'sprites-probe-'));
  try {
    for (const sub of ['upper', 'work', 'root']) await mkdir(join(dir, sub));
    const script = `mount -t overlay overlay -o "lowerdir=/,upperdir=${dir}/upper,workdir=${dir}/work" ${dir}/root && ip link set lo up`;
    const error = await new Promise<string | undefined>((resolve) =>
      execFile(
        'unshare',
        ['--mount', '--uts', '--ipc', '--net', '--pid', '--fork', '--propagation', 'private', '/bin/sh', '-c', script],
        { env: { PATH: SYSTEM_PATH.join(':') }, timeout: 10_000 },
        (err, _stdout, stderr) => resolve(err ? stderr.trim().split('\n').pop() || err.message : undefined),
      ),
    );
    return error === undefined ? undefined : `cannot create namespaces with an overlay root: ${error}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

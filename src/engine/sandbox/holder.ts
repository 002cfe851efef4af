// The holder of a sandboxed sprite: pid 1 of its own mount, pid, uts, ipc and net namespaces,
// rooted in an overlay of the host's `/` (read-only lower) and the sprite's disk (upper).
// Every command of the sprite enters these namespaces; when the holder dies the kernel kills
// everything in its pid namespace and the overlay goes with the mount namespace.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';

/** The root every sandboxed sprite sees; its steps are one shell script so a failure names its line. */
const SETUP = `set -e
root=$1; upper=$2; work=$3; name=$4; shift 4
hostname "$name"
ip link set lo up
mount -t overlay overlay -o "lowerdir=/,upperdir=$upper,workdir=$work" "$root"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount -t tmpfs -o mode=755,nosuid tmpfs "$root/dev"
for d in null zero full random urandom tty; do touch "$root/dev/$d"; mount --bind "/dev/$d" "$root/dev/$d"; done
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys" 2>/dev/null || true
for p in "$@"; do if [ -d "$root$p" ]; then mount -t tmpfs -o ro,size=4k,mode=755 tmpfs "$root$p"; fi; done
cd "$root"
pivot_root . .
umount -l .
cd /
echo ready
exec perl -e "$INIT"
`;

/**
 * pid 1 of the sprite: reaps orphans, and exits (taking the whole sprite down) when the engine
 * closes its stdin, so a crashed engine leaves nothing running. perl-base is essential in Debian.
 */
const INIT = `use POSIX ":sys_wait_h"; $SIG{CHLD} = sub { 1 while waitpid(-1, WNOHANG) > 0 };
for (;;) { my $n = sysread(STDIN, my $b, 512); next if !defined($n) && $!{EINTR}; exit 0 }`;

export interface HolderPaths {
  /** The sprite's disk: the overlay's upper layer. */
  upper: string;
  /** overlayfs' work directory, on the same filesystem as upper and outside it. */
  work: string;
  /** Where the overlay is mounted inside the holder's mount namespace. */
  mountPoint: string;
}

export class Holder {
  private constructor(
    /** Host pid of the sprite's pid 1: the target of every nsenter. */
    readonly pid: number,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  static async start(name: string, paths: HolderPaths, hidden: string[]): Promise<Holder> {
    await mkdir(paths.upper, { recursive: true });
    await mkdir(paths.work, { recursive: true });
    await mkdir(paths.mountPoint, { recursive: true });
    const child = spawn(
      'unshare',
      ['--mount', '--uts', '--ipc', '--net', '--pid', '--fork', '--kill-child', '--propagation', 'private', '/bin/sh', '-c', SETUP, 'sprite-setup', paths.mountPoint, paths.upper, paths.work, name, ...hidden],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', INIT } },
    );
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin!.on('error', () => {});
    const ready = await new Promise<boolean>((resolve) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => resolve(line === 'ready'));
      child.once('error', (err) => {
        stderr += err.message;
        resolve(false);
      });
      child.once('exit', () => resolve(false));
    });
    if (!ready || child.pid === undefined) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`cannot build the sandbox of ${name}: ${stderr.trim().split('\n').pop() || 'setup exited'}`);
    }
    const pid = await childOf(child.pid);
    return new Holder(pid, child, exited);
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Tear the sprite down: everything in its pid namespace dies, its overlay is unmounted. */
  async stop(): Promise<void> {
    this.child.stdin?.end();
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    await this.exited;
  }
}

/** The one child `unshare --fork` made: the namespaces' pid 1 as the host sees it. */
async function childOf(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
  const child = Number(text.trim().split(/\s+/)[0]);
  if (!Number.isInteger(child) || child <= 0) throw new Error(`unshare (pid ${pid}) has no child`);
  return child;
}

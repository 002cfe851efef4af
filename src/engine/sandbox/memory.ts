// Memory limits of sandboxed sprites through cgroups: one group per sprite under the engine's own
// group, `memory.max` on cgroup v2 (when the engine's group can delegate the memory controller),
// else `memory.limit_in_bytes` on a v1 memory hierarchy. Every command joins its sprite's group
// before it enters the sprite, so everything it starts is counted.
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

interface Hierarchy {
  version: 1 | 2;
  /** The engine's group in that hierarchy, as a host path. */
  base: string;
}

/** "mountpoint fstype superoptions" of every cgroup mount. */
async function cgroupMounts(): Promise<Array<{ mountPoint: string; fstype: string; options: string }>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: Array<{ mountPoint: string; fstype: string; options: string }> = [];
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const [fstype, , options] = right.split(' ');
    if (fstype === 'cgroup' || fstype === 'cgroup2') out.push({ mountPoint: left.split(' ')[4]!, fstype, options: options ?? '' });
  }
  return out;
}

/** The engine's group path per hierarchy: '' for v2, the controller list for v1. */
async function ownGroups(): Promise<Map<string, string>> {
  const groups = new Map<string, string>();
  for (const line of (await readFile('/proc/self/cgroup', 'utf8')).split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) groups.set(m[1]!, m[2]!);
  }
  return groups;
}

async function findHierarchy(): Promise<Hierarchy | string> {
  let mounts;
  let groups;
  try {
    [mounts, groups] = await Promise.all([cgroupMounts(), ownGroups()]);
  } catch (err) {
    return `cannot read cgroups: ${(err as Error).message}`;
  }
  const v2 = mounts.find((m) => m.fstype === 'cgroup2');
  if (v2 && groups.has('')) {
    const base = join(v2.mountPoint, groups.get('')!);
    const controllers = await readFile(join(base, 'cgroup.controllers'), 'utf8').catch(() => '');
    if (controllers.split(/\s+/).includes('memory')) {
      // Children get the controller only if our group delegates it (it may not hold processes then).
      const enabled = await writeFile(join(base, 'cgroup.subtree_control'), '+memory').then(
        () => true,
        () => false,
      );
      if (enabled) return { version: 2, base };
    }
  }
  const v1 = mounts.find((m) => m.fstype === 'cgroup' && m.options.split(',').includes('memory'));
  const v1Group = [...groups.entries()].find(([controllers]) => controllers.split(',').includes('memory'))?.[1];
  if (v1 && v1Group !== undefined) return { version: 1, base: join(v1.mountPoint, v1Group) };
  return v2 ? 'the cgroup v2 memory controller is not delegated to the engine' : 'no memory cgroup controller is mounted';
}

export class MemoryLimits {
  private constructor(
    private readonly hierarchy: Hierarchy,
    /** This engine's parent group of all sprite groups. */
    private readonly root: string,
  ) {}

  /** Memory limits on this host, or why there are none. */
  static async open(): Promise<MemoryLimits | string> {
    const found = await findHierarchy();
    if (typeof found === 'string') return found;
    const root = join(found.base, `sprites-${process.pid}`);
    try {
      await mkdir(root, { recursive: true });
      if (found.version === 2) await writeFile(join(root, 'cgroup.subtree_control'), '+memory');
    } catch (err) {
      return `cannot create a memory cgroup under ${found.base}: ${(err as Error).message}`;
    }
    return new MemoryLimits(found, root);
  }

  get version(): 1 | 2 {
    return this.hierarchy.version;
  }

  private dir(sprite: string): string {
    return join(this.root, sprite);
  }

  /** The group's member processes. */
  procsFile(sprite: string): string {
    return join(this.dir(sprite), 'cgroup.procs');
  }

  /**
   * The file a single-threaded process writes "0" to in order to join the sprite's group. On v1
   * that is `tasks`: moving the calling thread alone skips the kernel's global threadgroup lock,
   * whose RCU grace period made every write to cgroup.procs take 5-20 ms (the supervisor that
   * writes it is single-threaded, so the thread is the process). v2 has only cgroup.procs.
   */
  joinFile(sprite: string): string {
    return join(this.dir(sprite), this.hierarchy.version === 1 ? 'tasks' : 'cgroup.procs');
  }

  /** Create or update the sprite's group; no limit means unlimited. */
  async apply(sprite: string, limitMb: number | undefined): Promise<void> {
    const dir = this.dir(sprite);
    await mkdir(dir, { recursive: true });
    const bytes = limitMb === undefined ? undefined : String(limitMb * 1024 * 1024);
    if (this.hierarchy.version === 2) {
      await writeFile(join(dir, 'memory.max'), bytes ?? 'max');
      // Without swap the limit is the limit.
      await writeFile(join(dir, 'memory.swap.max'), bytes === undefined ? 'max' : '0').catch(() => {});
    } else {
      // memory+swap may never be below memory: lift it, set memory, then pin it to the same value.
      const memsw = join(dir, 'memory.memsw.limit_in_bytes');
      await writeFile(memsw, '-1').catch(() => {});
      await writeFile(join(dir, 'memory.limit_in_bytes'), bytes ?? '-1');
      if (bytes !== undefined) await writeFile(memsw, bytes).catch(() => {});
    }
  }

  /** Remove the sprite's group once the processes of the torn-down sprite have left it. */
  async remove(sprite: string): Promise<void> {
    const deadline = Date.now() + 5000;
    for (;;) {
      const procs = await readFile(this.procsFile(sprite), 'utf8').catch(() => '');
      if (procs.trim() === '' || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await rmdir(this.dir(sprite)).catch(() => {});
  }

  /** Remove this engine's groups. */
  async close(): Promise<void> {
    await rmdir(this.root).catch(() => {});
  }
}

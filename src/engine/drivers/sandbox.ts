// The sandbox driver: each sprite runs in its own Linux namespaces (mount, pid, uts, ipc, net)
// with an overlay root whose writable layer is the sprite's disk. One holder process per sprite
// owns the namespaces; every command enters them with nsenter; a net agent inside the sprite's
// network namespace dials the sprite's localhost for the engine and hands it the connected sockets.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Duplex } from 'node:stream';
import { SpawnError, type ListeningPort, type SpawnDefaults, type SpawnRequest, type SpriteDriver, type SpriteProcess } from '../driver.js';
import type { SpriteStore } from '../store.js';
import { Holder } from '../sandbox/holder.js';
import { NetAgent } from '../sandbox/net-agent.js';
import { Egress, EGRESS_PORT } from '../sandbox/egress.js';
import type { NetworkPolicy, PrivilegesPolicy, ResourcesPolicy } from '../../protocol/policy.js';
import type { MemoryLimits } from '../sandbox/memory.js';
import { privilegesPrefix } from '../sandbox/privileges.js';
import { enterArgv } from '../sandbox/enter.js';
import { spawnPipes, spawnPty } from './host-process.js';
import { listeningPortsOf, processTree } from './proc-net.js';

/** The sprite's home as its commands see it. */
export const SANDBOX_HOME = '/home/sprite';

export interface SandboxOptions {
  /** Where sprites live: their disk (fs/) is the overlay's upper layer. */
  store: Pick<SpriteStore, 'dirOf' | 'fsDirOf'>;
  /** Host directories the sprites must not see through the read-only lower layer (engine data, state). */
  hidden: string[];
  /** The sprite's current network policy (read at every outgoing connection). */
  networkPolicy(sprite: string): Promise<NetworkPolicy>;
  /** The sprite's privileges policy (read when the sprite starts and when its policies change). */
  privilegesPolicy(sprite: string): Promise<PrivilegesPolicy>;
  /** The sprite's resources policy; its memory limit is enforced when `memory` is given. */
  resourcesPolicy(sprite: string): Promise<ResourcesPolicy>;
  /** Memory cgroups, when this host has them. */
  memory?: MemoryLimits;
}

interface Running {
  holder: Holder;
  agent: NetAgent;
  egress: Egress;
  egressSocket: string;
  /** setpriv prefix of every command, from the privileges policy. */
  privileges: string[];
}

const PROXY = `http://127.0.0.1:${EGRESS_PORT}`;

export class SandboxDriver implements SpriteDriver {
  readonly name = 'sandbox' as const;
  private readonly running = new Map<string, Running>();
  /** Prepares in flight, so concurrent callers share one holder. */
  private readonly starting = new Map<string, Promise<Running>>();
  /** Unix sockets of the egress proxies: short paths, whatever the data dir is. Exists while sprites run. */
  private runDir: string | undefined;
  private nextSocket = 0;

  constructor(private readonly options: SandboxOptions) {}

  async prepare(sprite: string): Promise<void> {
    await this.ensure(sprite);
  }

  private ensure(sprite: string): Promise<Running> {
    const current = this.running.get(sprite);
    if (current?.holder.alive) return Promise.resolve(current);
    let pending = this.starting.get(sprite);
    if (!pending) {
      pending = this.start(sprite).finally(() => this.starting.delete(sprite));
      this.starting.set(sprite, pending);
    }
    return pending;
  }

  private async start(sprite: string): Promise<Running> {
    const stale = this.running.get(sprite);
    if (stale) await this.stopRunning(sprite, stale);
    const dir = this.options.store.dirOf(sprite);
    const holder = await Holder.start(
      sprite,
      { upper: this.options.store.fsDirOf(sprite), work: join(dir, 'work'), mountPoint: join(dir, 'root') },
      this.options.hidden,
    );
    this.runDir ??= makeRunDir();
    const n = this.nextSocket++;
    const egressSocket = join(this.runDir, `${n}.egress.sock`);
    const egress = new Egress({
      policy: () => this.options.networkPolicy(sprite),
      hostsFile: () => `/proc/${holder.pid}/root/etc/hosts`,
    });
    let agent: NetAgent | undefined;
    try {
      await egress.listen(egressSocket);
      agent = await NetAgent.start(holder.pid, egressSocket, EGRESS_PORT);
      await this.applyMemory(sprite);
    } catch (err) {
      await Promise.all([holder.stop(), egress.close(egressSocket), agent?.stop()]);
      throw err;
    }
    const privileges = privilegesPrefix(await this.options.privilegesPolicy(sprite).catch(() => ({})));
    const running = { holder, agent, egress, egressSocket, privileges };
    this.running.set(sprite, running);
    return running;
  }

  /** A prepared sprite; spawn is synchronous, so prepare must have run. */
  private prepared(sprite: string): Running {
    const running = this.running.get(sprite);
    if (!running?.holder.alive) throw new Error(`sprite ${sprite} is not prepared (call prepare first)`);
    return running;
  }

  defaults(): SpawnDefaults {
    return {
      cwd: SANDBOX_HOME,
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: SANDBOX_HOME,
        USER: 'root',
        LOGNAME: 'root',
        SHELL: '/bin/bash',
        LANG: 'C.UTF-8',
        // The sprite's network namespace has no route out: the engine's egress proxy is the way.
        http_proxy: PROXY,
        https_proxy: PROXY,
        HTTP_PROXY: PROXY,
        HTTPS_PROXY: PROXY,
        no_proxy: 'localhost,127.0.0.1,::1',
        NO_PROXY: 'localhost,127.0.0.1,::1',
      },
    };
  }

  spawn(req: SpawnRequest): SpriteProcess {
    const { holder, privileges } = this.prepared(req.sprite);
    if (!isDirectory(`/proc/${holder.pid}/root${req.cwd}`)) {
      throw new SpawnError(`working directory ${req.cwd} does not exist in sprite ${req.sprite}`);
    }
    // The host-side process is the supervisor: it starts in the host's root, joins the sprite's
    // memory cgroup (so all it starts counts), enters the sprite and passes env on to the program.
    const argv = enterArgv(holder.pid, req.cwd, req.argv, { privileges, cgroupJoin: this.options.memory?.joinFile(req.sprite) });
    const spec = { file: argv[0]!, argv, env: req.env, cwd: '/', cols: req.cols, rows: req.rows };
    return reachingKill(req.tty ? spawnPty(spec) : spawnPipes(spec));
  }

  async dial(sprite: string, host: string, port: number): Promise<Duplex> {
    const running = await this.ensure(sprite);
    return running.agent.dial(host === '' || host === 'localhost' ? '127.0.0.1' : host, port);
  }

  async listeningPorts(sprite: string, pids: number[]): Promise<ListeningPort[]> {
    const running = this.running.get(sprite);
    if (!running?.holder.alive) return [];
    // The sprite's own network namespace, seen through its holder; pids are host pids.
    return listeningPortsOf(pids, `/proc/${running.holder.pid}/net`);
  }

  /**
   * The sprite's policies changed: connections to names it now denies are cut; new commands get
   * the new privileges (running ones keep theirs: capabilities cannot be taken from a process).
   */
  async policyChanged(sprite: string): Promise<void> {
    const running = this.running.get(sprite);
    if (!running) return;
    running.privileges = privilegesPrefix(await this.options.privilegesPolicy(sprite).catch(() => ({})));
    await this.applyMemory(sprite);
    await running.egress.recheck();
  }

  private async applyMemory(sprite: string): Promise<void> {
    if (!this.options.memory) return;
    const policy = await this.options.resourcesPolicy(sprite).catch((): ResourcesPolicy => ({}));
    await this.options.memory.apply(sprite, policy.memory?.limit_mb);
  }

  async release(sprite: string): Promise<void> {
    await this.starting.get(sprite)?.catch(() => undefined);
    const running = this.running.get(sprite);
    if (running) await this.stopRunning(sprite, running);
  }

  /** Stop every sprite (engine shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.running.keys()].map((name) => this.release(name)));
    await this.options.memory?.close();
  }

  private async stopRunning(sprite: string, running: Running): Promise<void> {
    if (this.running.get(sprite) === running) this.running.delete(sprite);
    await Promise.all([running.agent.stop(), running.holder.stop(), running.egress.close(running.egressSocket)]);
    await this.options.memory?.remove(sprite);
    if (this.running.size === 0 && this.starting.size === 0 && this.runDir) {
      rmSync(this.runDir, { recursive: true, force: true });
      this.runDir = undefined;
    }
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * SIGKILL cannot be forwarded: the supervisor dies at once and the program, in its own process
 * group inside the sprite, would live on. So SIGKILL goes to every process the session started.
 */
function reachingKill(proc: SpriteProcess): SpriteProcess {
  const kill = (signal: NodeJS.Signals) => {
    if (signal !== 'SIGKILL' || proc.pid <= 0) {
      proc.kill(signal);
      return;
    }
    // The tree first: once the supervisor dies, what it started belongs to the sprite's init.
    void processTree([proc.pid]).then((tree) => {
      proc.kill(signal);
      for (const pid of tree) signalQuietly(pid, signal);
    });
  };
  return { ...proc, kill };
}

function signalQuietly(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // Already gone.
  }
}

/** A run directory named after this engine; those of engines that died without cleaning up go. */
function makeRunDir(): string {
  for (const name of readdirSync(tmpdir())) {
    const owner = /^sprites-sandbox-(\d+)-/.exec(name);
    if (owner && !pidAlive(Number(owner[1]))) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
  return mkdtempSync(join(tmpdir(), `sprites-sandbox-${process.pid}-`));
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

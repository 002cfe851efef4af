// The host driver: a sprite's processes are the engine user's processes, run in the sprite's
// directory; "localhost" inside the sprite is the host's loopback.
import { connect, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import type { Duplex } from 'node:stream';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { SpawnError, type ListeningPort, type SpawnDefaults, type SpawnRequest, type SpriteDriver, type SpriteProcess } from '../driver.js';
import { spawnPipes, spawnPty, failedProcess, resolveProgram } from './host-process.js';
import { listeningPortsOf } from './proc-net.js';
import { ProcessLedger } from './ledger.js';
import { slabReads } from '../../protocol/read-slabs.js';

/** Where commands see their home on a real sprite; the host driver maps it onto the host directory. */
export const SPRITE_HOME = '/home/sprite';

export interface HostDriverOptions {
  /** Where to record the process groups it starts (see ledger.ts); none: nothing is recorded. */
  ledgerDir?: string;
}

export class HostDriver implements SpriteDriver {
  readonly name = 'host' as const;
  private readonly ledger: ProcessLedger | undefined;

  constructor(options: HostDriverOptions = {}) {
    if (options.ledgerDir) {
      this.ledger = new ProcessLedger(options.ledgerDir);
      this.ledger.reapLeftovers();
    }
  }

  async prepare(): Promise<void> {}

  defaults(_sprite: string, hostHome: string): SpawnDefaults {
    let user = 'sprite';
    try {
      user = userInfo().username;
    } catch {
      // No passwd entry for our uid: keep the sprite's user name.
    }
    return {
      cwd: hostHome,
      env: {
        // The engine's own PATH, so the tools installed for the engine's user are found.
        PATH: process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: hostHome,
        USER: user,
        LOGNAME: user,
        SHELL: '/bin/bash',
        LANG: 'C.UTF-8',
      },
    };
  }

  spawn(req: SpawnRequest): SpriteProcess {
    // Clients that cannot know the host path name the sprite's home as a real sprite shows it.
    const cwd = mapHome(req.cwd, req.hostHome);
    const env = { ...req.env };
    if (env.HOME !== undefined) env.HOME = mapHome(env.HOME, req.hostHome);
    if (!isDirectory(cwd)) throw new SpawnError(`working directory ${req.cwd} does not exist in sprite ${req.sprite}`);
    const program = resolveProgram(req.argv[0] ?? '', env.PATH ?? '', cwd);
    if (!program.ok) return failedProcess(req.tty, program.message, program.code);
    const spec = { file: program.path, argv: req.argv, env, cwd, cols: req.cols, rows: req.rows };
    const proc = req.tty ? spawnPty(spec) : spawnPipes(spec);
    const ledger = this.ledger;
    if (ledger && proc.pid > 0) {
      ledger.record(proc.pid);
      proc.onExit(() => ledger.forget(proc.pid));
    }
    return proc;
  }

  dial(_sprite: string, host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      // Reads into slabs (large pieces, no buffer per read: protocol/read-slabs.ts).
      const socket: Socket = connect({ host: host === '' || host === 'localhost' ? '127.0.0.1' : host, port, onread: slabReads((chunk) => socket.push(chunk)) });
      socket.setNoDelay(true);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  listeningPorts(_sprite: string, pids: number[]): Promise<ListeningPort[]> {
    return listeningPortsOf(pids);
  }

  async release(): Promise<void> {}
}

/** The host driver's process ledger for an engine's data dir. */
export function hostLedgerDir(store: { dataDir: string }): string {
  return join(store.dataDir, 'run', 'host-processes');
}

function mapHome(path: string, hostHome: string): string {
  if (path === SPRITE_HOME) return hostHome;
  if (path.startsWith(SPRITE_HOME + '/')) return hostHome + path.slice(SPRITE_HOME.length);
  return path;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

// Where the CLI and the engine keep their files (XDG base directories), as a pure function of env.
import { join } from 'node:path';

export interface SpritesPaths {
  configDir: string;
  stateDir: string;
  dataDir: string;
  /** The running local engine's URL, token and pid. */
  engineStateFile: string;
  engineLogFile: string;
  /** Held while one CLI process starts the engine, so concurrent CLIs start only one. */
  engineLockFile: string;
}

export function spritesPaths(env: Record<string, string | undefined>, home: string): SpritesPaths {
  const xdg = (name: string, fallback: string) => {
    const v = env[name];
    return v && v.startsWith('/') ? v : join(home, fallback);
  };
  const configDir = env.SPRITES_CONFIG_DIR || join(xdg('XDG_CONFIG_HOME', '.config'), 'sprites');
  const stateDir = env.SPRITES_STATE_DIR || join(xdg('XDG_STATE_HOME', '.local/state'), 'sprites');
  const dataDir = env.SPRITES_DATA_DIR || join(xdg('XDG_DATA_HOME', '.local/share'), 'sprites', 'engine');
  return {
    configDir,
    stateDir,
    dataDir,
    engineStateFile: join(stateDir, 'engine.json'),
    engineLogFile: join(stateDir, 'engine.log'),
    engineLockFile: join(stateDir, 'engine.lock'),
  };
}

/** What the engine writes to its state file (mode 0600). */
export interface EngineState {
  url: string;
  token: string;
  pid: number;
  data_dir: string;
  started_at: string;
  version: string;
}

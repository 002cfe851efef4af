import { SpritesCommand } from '../../cli/base.js';
import { paths } from '../../lib/config.js';
import { engineStatus, findEngine, type EngineStatus } from '../../lib/local.js';
import { printFields } from '../../lib/output.js';

interface LocalStatus {
  running: boolean;
  url?: string;
  pid?: number;
  data_dir?: string;
  started_at?: string;
  version?: string;
  sprites?: number;
  isolation?: EngineStatus['isolation'];
  state_file: string;
}

const PROPERTY_LABELS: Record<string, string> = {
  durable_root: 'durable root',
  process_isolation: 'process isolation',
  hostname: 'hostname',
  network_policy: 'network policy',
  memory_limit: 'memory limit',
  privileges: 'privileges',
};

function isolationFields(isolation: EngineStatus['isolation']): Array<[string, string]> {
  if (!isolation) return [];
  const driver = isolation.reason ? `${isolation.driver} (sandbox unavailable: ${isolation.reason})` : isolation.driver;
  return [
    ['isolation', driver],
    ...Object.entries(isolation.properties).map(([key, on]): [string, string] => [PROPERTY_LABELS[key] ?? key, on ? 'on' : 'off']),
    ...(isolation.notes ?? []).map((note): [string, string] => ['note', note]),
  ];
}

export default class LocalStatusCommand extends SpritesCommand {
  static override description = 'Show whether the local engine runs, where, and what it holds. Exit 1 when it is not running.';
  static override examples = ['<%= config.bin %> local status', '<%= config.bin %> local status --json'];

  async run(): Promise<LocalStatus> {
    await this.parse(LocalStatusCommand);
    const p = paths();
    const state = await findEngine(p);
    let result: LocalStatus = { running: false, state_file: p.engineStateFile };
    if (state) {
      result = { running: true, ...(await engineStatus(state)), state_file: p.engineStateFile };
    }
    if (!this.jsonEnabled()) {
      if (!state) process.stderr.write('No local engine is running (start one with: sprites local start)\n');
      else {
        await printFields([
          ['url', result.url ?? '-'],
          ['pid', String(result.pid)],
          ['data dir', result.data_dir ?? '-'],
          ['started', result.started_at ?? '-'],
          ['version', result.version ?? '-'],
          ['sprites', String(result.sprites ?? 0)],
          ...isolationFields(result.isolation),
          ['state file', result.state_file],
        ]);
      }
    }
    if (!state) process.exitCode = 1;
    return result;
  }
}

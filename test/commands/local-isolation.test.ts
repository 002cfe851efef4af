// `sprites local start --isolation` and what `sprites local status` reports about it.
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startEngine, isolatedEnv } from '../helpers/cli.js';
import { sandboxUnavailable } from '../../src/engine/sandbox/probe.js';

const unavailable = await sandboxUnavailable();

describe('local engine isolation', () => {
  const cleanups: Array<() => void> = [];
  afterAll(() => cleanups.forEach((c) => c()));

  it('reports the host driver with every property off', async () => {
    const engine = await startEngine(isolatedEnv(), ['--isolation', 'host']);
    cleanups.push(() => engine.cleanup());
    const status = await runCli(['local', 'status', '--json'], { env: engine.localEnv });
    expect(status.code).toBe(0);
    const { isolation } = JSON.parse(status.stdout);
    expect(isolation).toEqual({
      requested: 'host',
      driver: 'host',
      properties: { durable_root: false, process_isolation: false, hostname: false, network_policy: false, memory_limit: false, privileges: false },
    });
    const human = await runCli(['local', 'status'], { env: engine.localEnv });
    expect(human.stdout).toMatch(/isolation\s+host\n/);
    expect(human.stdout).toMatch(/durable root\s+off\n/);
    await engine.stop();
  });

  it.skipIf(unavailable !== undefined)('reports the sandbox driver and what it enforces', async () => {
    const engine = await startEngine(isolatedEnv(), ['--isolation', 'sandbox']);
    cleanups.push(() => engine.cleanup());
    const status = await runCli(['local', 'status', '--json'], { env: engine.localEnv });
    expect(status.code).toBe(0);
    const { isolation } = JSON.parse(status.stdout);
    expect(isolation.driver).toBe('sandbox');
    expect(isolation.properties).toMatchObject({ durable_root: true, process_isolation: true, hostname: true });
    const human = await runCli(['local', 'status'], { env: engine.localEnv });
    expect(human.stdout).toMatch(/isolation\s+sandbox\n/);
    expect(human.stdout).toMatch(/process isolation\s+on\n/);
    await engine.stop();
  });

  it('refuses an unknown isolation mode as a usage error', async () => {
    const base = isolatedEnv();
    cleanups.push(() => base.cleanup());
    const res = await runCli(['local', 'start', '--isolation', 'vm'], { env: base.env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/isolation/);
  });
});

// Sprites under the sandbox driver, through the real binary: a durable root across execs, engine
// restarts and checkpoints, one process space per sprite, the sprite's name as hostname.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineFetch, isolatedEnv, runCli, startEngine, type TestEngine } from '../helpers/cli.js';
import { sandboxUnavailable } from '../../src/engine/sandbox/probe.js';
import { runCliPty } from '../helpers/pty.js';

const unavailable = await sandboxUnavailable();

describe.skipIf(unavailable !== undefined)('sprites in the sandbox driver', () => {
  const base = isolatedEnv();
  let engine: TestEngine;
  const cli = (args: string[]) => runCli(args, { env: engine.env });
  const sh = (sprite: string, script: string) => cli(['exec', sprite, '--', 'sh', '-c', script]);

  beforeAll(async () => {
    engine = await startEngine(base, ['--isolation', 'sandbox']);
    for (const name of ['sbx-a', 'sbx-b']) expect((await cli(['create', name])).code).toBe(0);
  });

  afterAll(async () => {
    await engine?.stop();
    base.cleanup();
  });

  it('keeps a file written to /opt across execs and an engine restart', async () => {
    expect(await sh('sbx-a', 'echo kept > /opt/kept && hostname')).toMatchObject({ code: 0, stdout: 'sbx-a\n' });
    expect(await sh('sbx-a', 'cat /opt/kept')).toMatchObject({ code: 0, stdout: 'kept\n' });
    await engine.stop();
    engine = await startEngine(base, ['--isolation', 'sandbox']);
    expect(await sh('sbx-a', 'cat /opt/kept; hostname')).toMatchObject({ code: 0, stdout: 'kept\nsbx-a\n' });
  });

  it('keeps sprites apart: files, processes, hostname', async () => {
    // A background process outlives its exec and stays in the sprite's process space.
    expect((await sh('sbx-a', 'echo a > /opt/only-a; sleep 300 > /dev/null 2>&1 &')).code).toBe(0);
    expect((await sh('sbx-a', 'ps -eo args')).stdout).toMatch(/^sleep 300$/m);
    const b = await sh('sbx-b', 'ps -eo args; hostname; cat /opt/only-a');
    expect(b.stdout).not.toMatch(/sleep 300/);
    expect(b.stdout).toMatch(/^sbx-b$/m);
    expect(b.stderr).toMatch(/only-a: No such file/);
    expect(b.code).not.toBe(0);
  });

  it('restores a file under /usr/local from a checkpoint', async () => {
    // Deleting a file of the host's root records a whiteout in the sprite's layer: it must stay deleted.
    expect((await sh('sbx-b', 'mkdir -p /usr/local/share/probe && echo one > /usr/local/share/probe/v && rm /etc/debian_version')).code).toBe(0);
    const created = await cli(['checkpoint', 'create', 'sbx-b', '--json']);
    expect(created.code).toBe(0);
    const id = /Checkpoint (v\d+) created/.exec(created.stdout)![1]!;
    expect((await sh('sbx-b', 'echo two > /usr/local/share/probe/v; touch /usr/local/share/probe/extra; echo back > /etc/debian_version')).code).toBe(0);
    expect((await cli(['checkpoint', 'restore', 'sbx-b', id, '--force'])).code).toBe(0);
    expect(await sh('sbx-b', 'cat /usr/local/share/probe/v; ls /usr/local/share/probe; test -e /etc/debian_version || echo deleted')).toMatchObject({
      code: 0,
      stdout: 'one\nv\ndeleted\n',
    });
  });

  it('reports a missing program like the host driver does', async () => {
    const res = await cli(['exec', 'sbx-a', '--', 'no-such-program-here']);
    expect(res.code).toBe(127);
    expect(res.stderr).toMatch(/no-such-program-here: command not found/);
  });

  it('maps the privileges policy to capabilities and no_new_privs', async () => {
    const setPrivileges = async (doc: object) => {
      expect((await engineFetch(engine, '/v1/sprites/sbx-b/policy/privileges', { method: 'POST', body: JSON.stringify(doc) })).status).toBe(204);
    };
    const mountProbe = 'mkdir -p /tmp/m && mount -t tmpfs none /tmp/m && echo mounted; grep NoNewPrivs /proc/self/status';
    // No policy is the standard profile: no CAP_SYS_ADMIN, so no mounts.
    const standard = await sh('sbx-b', mountProbe);
    expect(standard.stdout).not.toContain('mounted');
    expect(standard.stdout).toMatch(/NoNewPrivs:\s+0/);
    await setPrivileges({ profile: 'privileged', no_new_privileges: true });
    const privileged = await sh('sbx-b', mountProbe);
    expect(privileged.stdout).toContain('mounted');
    expect(privileged.stdout).toMatch(/NoNewPrivs:\s+1/);
    await setPrivileges({ profile: 'minimal' });
    const minimal = await sh('sbx-b', 'touch /tmp/owned && chown 1:1 /tmp/owned && echo chowned');
    expect(minimal.stdout).not.toContain('chowned');
    expect(minimal.stderr).toMatch(/Operation not permitted/);
    await setPrivileges({ profile: 'standard' });
    expect((await sh('sbx-b', 'touch /tmp/owned3 && chown 1:1 /tmp/owned3 && echo chowned')).stdout).toContain('chowned');
  });

  it('enforces the memory limit of the resources policy when the host has memory cgroups', async () => {
    const status = JSON.parse((await runCli(['local', 'status', '--json'], { env: engine.localEnv })).stdout);
    if (!status.isolation.properties.memory_limit) {
      expect(status.isolation.notes.join(' ')).toMatch(/memory limit off/);
      return;
    }
    const hog = ['exec', 'sbx-a', '--', 'python3', '-c', "b = b'x' * (256 << 20); print(len(b))"];
    expect(await cli(hog)).toMatchObject({ code: 0, stdout: `${256 << 20}\n` });
    const set = await engineFetch(engine, '/v1/sprites/sbx-a/policy/resources', { method: 'POST', body: JSON.stringify({ memory: { limit_mb: 64 } }) });
    expect(set.status).toBe(204);
    const limited = await cli(hog);
    expect(limited.code).toBe(137);
    expect((await engineFetch(engine, '/v1/sprites/sbx-a/policy/resources', { method: 'DELETE' })).status).toBe(204);
    expect((await cli(hog)).code).toBe(0);
  });

  it('runs an interactive shell under a PTY: Ctrl-C stops the foreground program, not the session', async () => {
    const term = runCliPty(['exec', '-t', 'sbx-a', '--', 'bash', '--norc', '-i'], { env: engine.env });
    term.write('PS1="sbx> "; hostname\r');
    await term.waitFor(/sbx-a\r*\n/);
    term.write('sleep 300\r');
    // Wait until sleep runs inside the sprite, then interrupt it from the keyboard.
    const deadline = Date.now() + 30_000;
    while (!(await sh('sbx-a', 'ps -eo args')).stdout.match(/^sleep 300$/m) && Date.now() < deadline);
    term.write('\x03');
    term.write('echo "after $?"\r');
    await term.waitFor('after 130');
    term.write('exit 3\r');
    expect((await term.exited).exitCode).toBe(3);
  });

  it('kills an interactive shell session through the kill endpoint, job control or not', async () => {
    for (const signal of ['SIGHUP', 'SIGKILL']) {
      const term = runCliPty(['exec', '-t', 'sbx-b', '--', 'bash', '--norc', '-i'], { env: engine.env });
      term.write('echo ready-$((40 + 2))\r');
      await term.waitFor('ready-42');
      const list = (await (await engineFetch(engine, '/v1/sprites/sbx-b/exec')).json()) as { sessions: Array<{ id: string; is_active: boolean; tty: boolean }> };
      const session = list.sessions.find((s) => s.is_active && s.tty)!;
      const killed = await engineFetch(engine, `/v1/sprites/sbx-b/exec/${session.id}/kill?signal=${signal}&timeout=10s`, { method: 'POST' });
      expect(killed.status).toBe(200);
      const events = await killed.text();
      expect(events).toMatch(/"type":"complete"/);
      // The signal itself ended the shell: no escalation after the timeout.
      expect(events).not.toMatch(/"type":"timeout"/);
      await term.exited;
      expect((await sh('sbx-b', 'ps -eo args')).stdout).not.toMatch(/^bash --norc -i$/m);
    }
  });
});

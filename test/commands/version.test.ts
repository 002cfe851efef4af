// `sprites --version` is answered by bin/run.js without loading oclif: it must print exactly what
// oclif would (config.userAgent), and other arguments must still reach oclif.
import { describe, expect, it } from 'vitest';
import { Config } from '@oclif/core';
import { ROOT, isolatedEnv, runCli } from '../helpers/cli.js';

describe('sprites --version', () => {
  it('prints oclif’s user agent string, exit 0, nothing on stderr', async () => {
    const home = isolatedEnv();
    try {
      const config = await Config.load(ROOT);
      const r = await runCli(['--version'], { env: home.env });
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(`${config.userAgent}\n`);
    } finally {
      home.cleanup();
    }
  });

  it('leaves everything else to oclif (help still lists commands)', async () => {
    const home = isolatedEnv();
    try {
      const r = await runCli(['--help'], { env: home.env });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('VERSION');
      expect(r.stdout).toContain('exec');
    } finally {
      home.cleanup();
    }
  });
});

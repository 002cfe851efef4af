import { Flags } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { configFile, writeStoredConfig } from '../../lib/config.js';
import { UsageError } from '../../lib/errors.js';
import { text } from 'node:stream/consumers';

export default class AuthLogin extends SpritesCommand {
  static override description = 'Store a token for the hosted API. The token is read from stdin, never from a flag.';
  static override examples = ['echo "$TOKEN" | <%= config.bin %> auth login --with-token', '<%= config.bin %> auth login --with-token < token.txt'];
  static override flags = {
    'with-token': Flags.boolean({ description: 'read the token from standard input', required: true }),
  };

  async run(): Promise<{ stored: boolean; file: string }> {
    const { flags } = await this.parse(AuthLogin);
    if (!flags['with-token']) throw new UsageError('pass --with-token and the token on stdin');
    if (process.stdin.isTTY) process.stderr.write('Paste the token and press Ctrl-D:\n');
    const token = (await text(process.stdin)).trim();
    if (!token) throw new UsageError('no token on stdin: echo "$TOKEN" | sprites auth login --with-token');
    if (/\s/.test(token)) throw new UsageError('the token on stdin contains whitespace; pass exactly one token');
    await writeStoredConfig({ token });
    const file = configFile();
    if (!this.jsonEnabled()) process.stderr.write(`Token stored in ${file} (mode 0600)\n`);
    return { stored: true, file };
  }
}

import { SpritesCommand } from '../../cli/base.js';
import { configFile, readStoredConfig, writeStoredConfig } from '../../lib/config.js';

export default class AuthLogout extends SpritesCommand {
  static override description = 'Forget the stored token. Tokens in SPRITES_TOKEN or SPRITE_TOKEN are untouched.';
  static override examples = ['<%= config.bin %> auth logout'];

  async run(): Promise<{ removed: boolean; file: string }> {
    await this.parse(AuthLogout);
    const had = readStoredConfig().token !== undefined;
    if (had) await writeStoredConfig({ token: undefined });
    const file = configFile();
    if (!this.jsonEnabled()) process.stderr.write(had ? `Removed the stored token from ${file}\n` : 'No stored token\n');
    if (!this.jsonEnabled() && (process.env.SPRITES_TOKEN || process.env.SPRITE_TOKEN)) {
      process.stderr.write('Note: a token is still set in the environment (SPRITES_TOKEN or SPRITE_TOKEN)\n');
    }
    return { removed: had, file };
  }
}

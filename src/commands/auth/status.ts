import { SpritesCommand } from '../../cli/base.js';
import { maskToken, planTarget, resolveToken } from '../../lib/config.js';
import { printFields } from '../../lib/output.js';

export default class AuthStatus extends SpritesCommand {
  static override description = 'Show which API the CLI will use and where its token comes from (masked).';
  static override examples = ['<%= config.bin %> auth status', '<%= config.bin %> auth status --json'];

  async run(): Promise<Record<string, string | null>> {
    const { flags } = await this.parse(AuthStatus);
    const plan = planTarget(flags.api);
    const token = resolveToken();
    const result = {
      api: plan.kind === 'local' ? 'local' : plan.baseUrl,
      api_source: plan.apiSource,
      token_source: plan.kind === 'local' ? 'local engine state file' : token?.source ?? null,
      token: plan.kind === 'local' ? null : token ? maskToken(token.token) : null,
    };
    if (!this.jsonEnabled()) {
      await printFields([
        ['api', `${result.api} (from ${result.api_source})`],
        ['token', result.token ? `${result.token} (from ${result.token_source})` : plan.kind === 'local' ? 'the local engine\'s own token' : 'none'],
      ]);
    }
    return result;
  }
}

import { Args } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { setNetworkPolicy } from '../../lib/policy.js';
import { notice } from '../../lib/output.js';
import type { NetworkPolicy } from '../../protocol/policy.js';

export default class PolicyReset extends SpritesCommand {
  static override description = "Clear a sprite's network policy (an empty rule set: no policy).";
  static override examples = ['<%= config.bin %> policy reset demo'];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from .sprite)' }) };

  async run(): Promise<NetworkPolicy> {
    const { args, flags } = await this.parse(PolicyReset);
    const name = this.spriteName(args.name);
    const policy = await setNetworkPolicy(await this.api(flags), name, { rules: [] });
    if (!this.jsonEnabled()) notice(`Cleared the network policy of ${name}`);
    return policy;
  }
}

import { Args } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { printRules } from '../../cli/policy-render.js';
import { getNetworkPolicy } from '../../lib/policy.js';
import type { NetworkPolicy } from '../../protocol/policy.js';

export default class PolicyGet extends SpritesCommand {
  static override description =
    "Show a sprite's network policy: its rules in order (table on a terminal; piped, ACTION<TAB>DOMAIN lines).";
  static override examples = ['<%= config.bin %> policy get demo', '<%= config.bin %> policy get demo --json'];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from .sprite)' }) };

  async run(): Promise<NetworkPolicy> {
    const { args, flags } = await this.parse(PolicyGet);
    const name = this.spriteName(args.name);
    const policy = await getNetworkPolicy(await this.api(flags), name);
    if (!this.jsonEnabled()) await printRules(name, policy);
    return policy;
  }
}

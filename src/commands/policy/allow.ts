import { Args } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { printRules } from '../../cli/policy-render.js';
import { changeRules, checkDomains, withAction } from '../../lib/policy.js';
import type { NetworkPolicy } from '../../protocol/policy.js';

export default class PolicyAllow extends SpritesCommand {
  static override description =
    'Allow outbound DNS names for a sprite: sets each domain\'s rule to allow (changing it in place, or appending it), writes the whole policy back and prints the resulting rules.';
  static override strict = false;
  static override examples = ['<%= config.bin %> policy allow demo github.com "*.npmjs.org"'];
  static override args = {
    name: Args.string({ ignoreStdin: true, description: 'sprite name', required: true }),
    domain: Args.string({ ignoreStdin: true, description: 'domain patterns: exact name, *.suffix or *', required: true }),
  };

  async run(): Promise<NetworkPolicy> {
    const { args, argv, flags } = await this.parse(PolicyAllow);
    const name = this.spriteName(args.name);
    const domains = (argv as string[]).slice(1);
    checkDomains(domains);
    const policy = await changeRules(await this.api(flags), name, (rules) => withAction(rules, domains, 'allow'));
    if (!this.jsonEnabled()) await printRules(name, policy);
    return policy;
  }
}

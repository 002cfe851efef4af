import { Args } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { printRules } from '../../cli/policy-render.js';
import { changeRules, checkDomains, withoutDomains } from '../../lib/policy.js';
import { notice } from '../../lib/output.js';
import type { NetworkPolicy } from '../../protocol/policy.js';

export default class PolicyRemove extends SpritesCommand {
  static override description =
    "Remove the rules for domains from a sprite's network policy, write it back and print the resulting rules. A domain without a rule is reported on stderr and is not an error.";
  static override strict = false;
  static override aliases = ['policy:rm'];
  static override examples = ['<%= config.bin %> policy remove demo github.com'];
  static override args = {
    name: Args.string({ ignoreStdin: true, description: 'sprite name', required: true }),
    domain: Args.string({ ignoreStdin: true, description: 'domain patterns whose rules to remove', required: true }),
  };

  async run(): Promise<NetworkPolicy> {
    const { args, argv, flags } = await this.parse(PolicyRemove);
    const name = this.spriteName(args.name);
    const domains = (argv as string[]).slice(1);
    checkDomains(domains);
    let missing: string[] = [];
    const policy = await changeRules(await this.api(flags), name, (rules) => {
      const result = withoutDomains(rules, domains);
      missing = result.missing;
      return result.rules;
    });
    for (const d of missing) notice(`Note: ${name} had no rule for ${d}`);
    if (!this.jsonEnabled()) await printRules(name, policy);
    return policy;
  }
}

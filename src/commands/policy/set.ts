import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { printRules } from '../../cli/policy-render.js';
import { readPolicyFile, setNetworkPolicy } from '../../lib/policy.js';
import type { NetworkPolicy } from '../../protocol/policy.js';

export default class PolicySet extends SpritesCommand {
  static override description =
    'Replace a sprite\'s network policy with a JSON document {"rules": [...]}. Each rule is {"domain": D, "action": "allow"|"deny"} or {"include": "defaults"}; D is an exact name, *.suffix or *. The document is checked before sending (exit 2 naming the rule).';
  static override examples = [
    '<%= config.bin %> policy set demo --file policy.json',
    `echo '{"rules":[{"domain":"*.github.com","action":"allow"},{"domain":"*","action":"deny"}]}' | <%= config.bin %> policy set demo --file -`,
  ];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from .sprite)' }) };
  static override flags = { file: Flags.string({ char: 'f', description: 'policy JSON file, or - for stdin', required: true }) };

  async run(): Promise<NetworkPolicy> {
    const { args, flags } = await this.parse(PolicySet);
    const name = this.spriteName(args.name);
    const doc = await readPolicyFile(flags.file);
    const policy = await setNetworkPolicy(await this.api(flags), name, doc);
    if (!this.jsonEnabled()) await printRules(name, policy);
    return policy;
  }
}

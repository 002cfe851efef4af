import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { printResources } from '../../cli/policy-render.js';
import { getResources, resetResources, setResources } from '../../lib/policy.js';
import { notice } from '../../lib/output.js';
import type { ResourcesPolicy } from '../../protocol/policy.js';

export default class PolicyResources extends SpritesCommand {
  static override description =
    "Show a sprite's resources policy; with --memory-mb, replace it; --reset deletes it.";
  static override examples = [
    '<%= config.bin %> policy resources demo',
    '<%= config.bin %> policy resources demo --memory-mb 2048 --autoscale',
    '<%= config.bin %> policy resources demo --reset',
  ];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from .sprite)' }) };
  static override flags = {
    'memory-mb': Flags.integer({ description: 'memory limit in MiB', min: 1 }),
    autoscale: Flags.boolean({ description: 'let memory grow past the limit when the host allows', dependsOn: ['memory-mb'] }),
    reset: Flags.boolean({ description: 'delete the resources policy', exclusive: ['memory-mb', 'autoscale'] }),
  };

  async run(): Promise<ResourcesPolicy> {
    const { args, flags } = await this.parse(PolicyResources);
    const name = this.spriteName(args.name);
    const api = await this.api(flags);
    if (flags.reset) {
      await resetResources(api, name);
      if (!this.jsonEnabled()) notice(`Deleted the resources policy of ${name}`);
      return getResources(api, name);
    }
    const policy =
      flags['memory-mb'] !== undefined
        ? await setResources(api, name, { memory: { limit_mb: flags['memory-mb'], ...(flags.autoscale ? { autoscale: true } : {}) } })
        : await getResources(api, name);
    if (!this.jsonEnabled()) await printResources(policy);
    return policy;
  }
}

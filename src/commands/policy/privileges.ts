import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../../cli/base.js';
import { printPrivileges } from '../../cli/policy-render.js';
import { getPrivileges, resetPrivileges, setPrivileges } from '../../lib/policy.js';
import { UsageError } from '../../lib/errors.js';
import { notice } from '../../lib/output.js';
import type { PrivilegeProfile, PrivilegesPolicy } from '../../protocol/policy.js';

export default class PolicyPrivileges extends SpritesCommand {
  static override description =
    "Show a sprite's privileges policy; with flags, replace it with exactly what the flags say; --reset deletes it.";
  static override examples = [
    '<%= config.bin %> policy privileges demo',
    '<%= config.bin %> policy privileges demo --profile minimal --no-new-privileges',
    '<%= config.bin %> policy privileges demo --profile standard --device /dev/fuse',
    '<%= config.bin %> policy privileges demo --reset',
  ];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from .sprite)' }) };
  static override flags = {
    // Checked by the shared validator (exit 2): oclif's own `options` check exits 1.
    profile: Flags.string({ description: 'privilege profile: minimal, standard or privileged' }),
    'no-new-privileges': Flags.boolean({ description: 'forbid gaining privileges (setuid, file capabilities)' }),
    device: Flags.string({ description: 'a device to expose, such as /dev/fuse (repeatable)', multiple: true }),
    reset: Flags.boolean({ description: 'delete the privileges policy', exclusive: ['profile', 'no-new-privileges', 'device'] }),
  };

  async run(): Promise<PrivilegesPolicy> {
    const { args, flags } = await this.parse(PolicyPrivileges);
    const name = this.spriteName(args.name);
    const api = await this.api(flags);
    if (flags.reset) {
      await resetPrivileges(api, name);
      if (!this.jsonEnabled()) notice(`Deleted the privileges policy of ${name}`);
      return getPrivileges(api, name);
    }
    const setting = flags.profile !== undefined || flags['no-new-privileges'] || flags.device !== undefined;
    let policy: PrivilegesPolicy;
    if (setting) {
      const doc: PrivilegesPolicy = {};
      if (flags.profile !== undefined) doc.profile = flags.profile as PrivilegeProfile;
      if (flags['no-new-privileges']) doc.no_new_privileges = true;
      if (flags.device !== undefined) doc.devices = flags.device;
      if (doc.devices?.some((d) => d === '')) throw new UsageError('--device needs a path such as /dev/fuse');
      policy = await setPrivileges(api, name, doc);
    } else {
      policy = await getPrivileges(api, name);
    }
    if (!this.jsonEnabled()) await printPrivileges(policy);
    return policy;
  }
}

// An unknown command is a usage error: exit 2 with a pointer to the command list.
import type { Hook } from '@oclif/core';

const hook: Hook.CommandNotFound = async function (opts) {
  process.stderr.write(`Error: unknown command "${opts.id.split(':').join(' ')}"\nSee: sprites --help\n`);
  process.exit(2);
};

export default hook;

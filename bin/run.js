#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { release } from 'node:os';

// `sprites --version` needs nothing of the framework: answer it here with the very string oclif
// prints (its config.userAgent), which saves loading @oclif/core (bench/startup.js). WSL, where oclif
// reports the platform as "wsl", goes the ordinary way.
if (process.argv[2] === '--version' && !isWsl()) {
  const { name, version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  const arch = process.arch === 'ia32' ? 'x86' : process.arch;
  process.stdout.write(`${name}/${version} ${process.platform}-${arch} node-${process.version}\n`);
} else {
  // The bundled CLI (scripts/bundle.js): oclif and every command from dist/bundle.
  const { main } = await import('../dist/bundle/cli/main.js');
  await main();
}

function isWsl() {
  if (process.platform !== 'linux') return false;
  if (/microsoft/i.test(release())) return true;
  try {
    return /microsoft/i.test(readFileSync('/proc/version', 'utf8'));
  } catch {
    return false;
  }
}

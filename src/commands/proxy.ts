import { Args, Flags } from '@oclif/core';
import { isIP } from 'node:net';
import { SpritesCommand } from '../cli/base.js';
import { findContext } from '../lib/config.js';
import { UsageError } from '../lib/errors.js';
import { notice, printNdjson } from '../lib/output.js';
import { parsePortMappings, parseStdioTarget } from '../lib/port-mapping.js';
import { ProxyListeners, tunnelStdio, type ProxyEvent } from '../lib/proxy.js';
import { getSprite } from '../lib/sprites.js';

const MAPPING_LIKE = /^[0-9]+(:[0-9]+)?$/;

function isLoopback(address: string): boolean {
  const a = address.toLowerCase().replace(/^\[|\]$/g, '');
  return a === 'localhost' || a === '::1' || (isIP(a) === 4 && a.startsWith('127.'));
}

export default class Proxy extends SpritesCommand {
  static override summary = 'Forward local TCP ports into a sprite (or bridge stdin/stdout with -W).';
  static override usage = [
    'proxy [NAME] PORT|LOCAL:REMOTE|0:REMOTE... [--bind ADDR] [--remote-host HOST] [--json]',
    'proxy [NAME] -W [HOST:]PORT',
  ];
  static override description =
    'Forward local TCP ports to ports inside a sprite, one tunnel per connection, until Ctrl-C or SIGTERM. ' +
    'PORT forwards local PORT to the same port in the sprite; LOCAL:REMOTE picks the local port; 0:REMOTE picks a free one. ' +
    'With -W, bridges stdin/stdout to one port instead (for ssh ProxyCommand).';
  static override examples = [
    '<%= config.bin %> proxy my-sprite 8080',
    '<%= config.bin %> proxy my-sprite 5433:5432 0:6379',
    '<%= config.bin %> proxy my-sprite 8080 --json',
    'ssh -o ProxyCommand="<%= config.bin %> proxy %h -W 22" sprite@my-sprite',
  ];
  static override strict = false;
  static override args = {
    // ignoreStdin: oclif would otherwise read a missing argument from piped stdin, which -W forwards.
    name: Args.string({ description: 'sprite name (default: from .sprite)', ignoreStdin: true }),
    ports: Args.string({ description: 'PORT | LOCAL:REMOTE | 0:REMOTE, several allowed', ignoreStdin: true }),
  };
  static override flags = {
    bind: Flags.string({ description: 'local address to listen on (default: 127.0.0.1 and ::1); a non-loopback address is reachable by other machines' }),
    'remote-host': Flags.string({ description: 'host to reach inside the sprite (default: localhost)' }),
    stdio: Flags.string({ char: 'W', description: 'no listener: bridge stdin/stdout to [HOST:]PORT in the sprite', helpValue: '[HOST:]PORT' }),
  };

  async run(): Promise<void> {
    const { argv, flags } = await this.parse(Proxy);
    const positional = argv as string[];
    if (flags.stdio !== undefined) {
      if (positional.length > 1) throw new UsageError('-W/--stdio takes no port mappings: use "sprites proxy NAME -W [HOST:]PORT"');
      if (this.jsonEnabled()) throw new UsageError('--json cannot be used with -W/--stdio: stdout carries the tunnel');
      if (flags.bind !== undefined) throw new UsageError('--bind cannot be used with -W/--stdio: there is no listener');
      const target = parseStdioTarget(flags.stdio);
      if (flags['remote-host'] !== undefined && target.host === '') target.host = this.remoteHost(flags['remote-host']);
      const name = this.spriteName(positional[0]);
      return this.runStdio(flags, name, target);
    }

    const firstIsMapping = positional.length > 0 && MAPPING_LIKE.test(positional[0]!) && (positional.length === 1 || findContext() !== null);
    const name = this.spriteName(firstIsMapping ? undefined : positional[0]);
    const mappings = parsePortMappings(firstIsMapping ? positional : positional.slice(1));
    const remoteHost = flags['remote-host'] === undefined ? '' : this.remoteHost(flags['remote-host']);
    if (flags.bind !== undefined && flags.bind.trim() === '') throw new UsageError('--bind needs an address, e.g. --bind 127.0.0.1');

    const api = await this.api(flags);
    await getSprite(api, name);
    const json = this.jsonEnabled();
    const forwarder = new ProxyListeners({
      api,
      sprite: name,
      remoteHost,
      mappings,
      bind: flags.bind,
      onEvent: json ? (e: ProxyEvent) => printNdjson(e) : undefined,
      onNotice: notice,
    });
    const stopped = waitForStopSignal();
    const listeners = await forwarder.start();
    if (flags.bind !== undefined && !isLoopback(flags.bind)) {
      notice(`Warning: listening on ${flags.bind}: any machine that can reach this one can connect to ${name} through it`);
    }
    for (const l of listeners) {
      if (json) {
        printNdjson({
          type: 'listening',
          sprite: name,
          local_address: l.address,
          local_port: l.port,
          addresses: l.addresses,
          remote_host: remoteHost || 'localhost',
          remote_port: l.mapping.remote,
        });
      } else {
        process.stdout.write(`Forwarding ${l.addresses[0]} -> ${l.target}\n`);
      }
    }
    if (!json && process.stderr.isTTY) notice('Ctrl-C to stop');
    await stopped;
    await forwarder.close();
  }

  private remoteHost(host: string): string {
    const h = host.trim();
    if (h === '' || /[\s/@]/.test(h)) throw new UsageError(`invalid --remote-host ${JSON.stringify(host)}: give a host name or address, e.g. --remote-host localhost`);
    return h;
  }

  private async runStdio(flags: { api?: string; debug?: boolean }, name: string, target: { host: string; port: number }): Promise<void> {
    const api = await this.api(flags);
    await getSprite(api, name);
    const tunnel = tunnelStdio(api, name, target, process.stdin, process.stdout);
    void waitForStopSignal().then(() => tunnel.close());
    const result = await tunnel.done;
    // stdin would keep the process alive; stdout must be flushed before the exit code is set.
    process.stdin.destroy();
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    if (result.error) throw result.error;
  }
}

/** Resolves on the first Ctrl-C or SIGTERM; a second Ctrl-C exits at once with 130. */
function waitForStopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

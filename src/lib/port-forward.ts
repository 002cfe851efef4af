// Auto-forwarding of ports a remote command opens (SPRITES-API.md §2 port_opened): one
// proxy.ts PortForwarder per port, listening on the same port here, opened on port_opened and
// closed on port_closed and when the exec ends.
import { ApiClient } from './api.js';
import { PortForwarder } from './proxy.js';

export class AutoPortForwarder {
  private readonly forwarders = new Map<number, PortForwarder>();

  constructor(
    private readonly api: ApiClient,
    private readonly sprite: string,
    private readonly notice: (line: string) => void,
  ) {}

  open(port: number): void {
    if (this.forwarders.has(port)) return;
    const forwarder = new PortForwarder({
      api: this.api,
      sprite: this.sprite,
      remoteHost: '',
      mappings: [{ local: port, remote: port }],
      bind: '127.0.0.1',
      onNotice: this.notice,
    });
    this.forwarders.set(port, forwarder);
    forwarder.start().then(
      () => this.notice(`port ${port} opened in ${this.sprite}: forwarding 127.0.0.1:${port}`),
      (err: Error) => {
        this.forwarders.delete(port);
        this.notice(`port ${port} opened in ${this.sprite}, but it cannot be forwarded here: ${err.message}`);
      },
    );
  }

  close(port: number): void {
    const forwarder = this.forwarders.get(port);
    if (!forwarder) return;
    this.forwarders.delete(port);
    void forwarder.close();
    this.notice(`port ${port} closed in ${this.sprite}: stopped forwarding`);
  }

  closeAll(): void {
    for (const forwarder of this.forwarders.values()) void forwarder.close();
    this.forwarders.clear();
  }
}

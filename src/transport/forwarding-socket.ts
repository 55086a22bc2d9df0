// The datagram sockets remote calls are forwarded from: one udp4 and one udp6 socket on an
// ephemeral port of the wildcard address (so loopback and every local address are reachable).
// Whatever arrives is handed on with its source; the forwarder decides what is a reply.

import dgram from 'node:dgram';
import type { TransportLog } from './handler.js';
import { literalLookup } from './udp-service.js';

/** What the forwarder needs from its sockets (a fake in unit tests). */
export interface DatagramPort {
  send(msg: Buffer, host: string, port: number): void;
  /** Sets the one receiver of every datagram that arrives. */
  onMessage(receiver: (msg: Buffer, host: string, port: number) => void): void;
  close(): void;
}

export class ForwardingSocket implements DatagramPort {
  readonly #log: TransportLog;
  #v4: dgram.Socket | undefined;
  #v6: dgram.Socket | undefined;
  #receiver: (msg: Buffer, host: string, port: number) => void = () => {};
  #closed = false;

  constructor(log: TransportLog) {
    this.#log = log;
  }

  /** Binds the sockets of the families asked for; rejects if none could be bound. */
  async start(ipv4: boolean, ipv6: boolean): Promise<void> {
    if (ipv4) this.#v4 = await this.#open('udp4', '0.0.0.0');
    if (ipv6) this.#v6 = await this.#open('udp6', '::');
    if (!this.#v4 && !this.#v6) throw new Error('remote calls: no forwarding socket could be bound');
  }

  /** The local ports, for logs and tests. */
  get ports(): { udp?: number; udp6?: number } {
    return { udp: this.#v4?.address().port, udp6: this.#v6?.address().port };
  }

  #open(type: 'udp4' | 'udp6', address: string): Promise<dgram.Socket | undefined> {
    // Destinations are always IP literals: resolve them at once, not on the next tick (a
    // broadcast CALLIT from libtirpc's rpc_broadcast_exp may wait only a few milliseconds).
    const sock = dgram.createSocket({ type, ipv6Only: type === 'udp6', lookup: literalLookup });
    return new Promise((resolve) => {
      const onBindError = (e: Error): void => {
        this.#log.warn(`remote calls: cannot bind a ${type} forwarding socket: ${e.message}`);
        sock.close();
        resolve(undefined);
      };
      sock.once('error', onBindError);
      sock.bind({ port: 0, address }, () => {
        sock.off('error', onBindError);
        sock.on('error', (e) => this.#log.warn(`remote calls: ${type} forwarding socket: ${e.message}`));
        sock.on('message', (msg, rinfo) => this.#receiver(msg, rinfo.address, rinfo.port));
        resolve(sock);
      });
    });
  }

  onMessage(receiver: (msg: Buffer, host: string, port: number) => void): void {
    this.#receiver = receiver;
  }

  send(msg: Buffer, host: string, port: number): void {
    if (this.#closed) return;
    const sock = host.includes(':') ? this.#v6 : this.#v4;
    if (!sock) {
      this.#log.debug(`remote calls: no socket to forward to ${host}`);
      return;
    }
    // No completion callback (it costs a tick per send): a failed send surfaces as the
    // socket's 'error' event, which is logged.
    sock.send(msg, port, host);
  }

  close(): void {
    this.#closed = true;
    for (const s of [this.#v4, this.#v6]) {
      try {
        s?.close();
      } catch {
        // already closed
      }
    }
  }
}

// The host's own addresses, kept current: re-read (os.networkInterfaces) whenever the kernel
// announces an address or link change over rtnetlink, or every few seconds where it cannot.
// Answers the questions the UDP service asks per datagram: is this source one of ours (then a
// reply cannot be a reflection), and which of our addresses faces this caller.

import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { AddressSet, normalizeAddress } from '../net/index.js';
import type { TransportLog } from '../transport/handler.js';
import { watchAddressChanges, type NetlinkWatch } from '../transport/netlink-watch.js';

interface HostAddress {
  /** As the UDP service binds it: link-local IPv6 with its interface scope. */
  bindable: string;
  /** Without the scope. */
  bare: string;
  v6: boolean;
  loopback: boolean;
  cidr: string;
  /** The address's own network (address/prefix). */
  net: AddressSet;
}

export interface AddressMonitorOptions {
  log: TransportLog;
  /** Poll interval when netlink is unavailable (and the retry delay after a netlink failure). */
  pollMs: number;
  /** false: never open a netlink socket (tests of the fallback). */
  netlink?: boolean;
  /** The interfaces as os.networkInterfaces() reports them (tests substitute their own). */
  interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
}

/** How many times in a row a broken netlink socket is reopened before polling takes over. */
const MAX_NETLINK_REOPENS = 5;

export class AddressMonitor {
  readonly #o: AddressMonitorOptions;
  #list: HostAddress[] = [];
  #bindable: string[] = [];
  #own = new Set<string>();
  #key = '';
  readonly #listeners: Array<() => void> = [];
  #scheduled = false;
  #watch: NetlinkWatch | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reopens = 0;
  #closed = false;

  constructor(o: AddressMonitorOptions) {
    this.#o = o;
    this.#read();
  }

  /** Starts following changes (netlink, else polling). */
  start(): void {
    if (this.#o.netlink === false) this.#poll('netlink disabled');
    else this.#openNetlink();
  }

  /** Every current address, as the UDP service binds them ("fe80::1%eth0" for link-local). */
  get addresses(): readonly string[] {
    return this.#bindable;
  }

  /** How changes are followed now: 'netlink' or 'polling'. */
  get mode(): 'netlink' | 'polling' {
    return this.#watch ? 'netlink' : 'polling';
  }

  /** Whether `addr` (any spelling: IPv4-mapped, scoped) is one of this host's addresses now. */
  isOwn(addr: string): boolean {
    const a = normalizeAddress(addr);
    const pct = a.indexOf('%');
    return this.#own.has(pct >= 0 ? a.slice(0, pct) : a);
  }

  /**
   * Our address a caller at `peer` reaches us by, as rpcbind's addrmerge picks it: the address
   * whose network holds the caller, else the caller's own address if it is ours, else the first
   * non-loopback address of the family, else loopback; '' when the host has none of the family.
   */
  facing(peer: string): string {
    const p = normalizeAddress(peer).split('%')[0]!;
    const v6 = p.includes(':');
    if (this.#own.has(p)) return p;
    let fallback: HostAddress | undefined;
    for (const a of this.#list) {
      if (a.v6 !== v6) continue;
      if (!a.loopback && a.net.has(p)) return a.bare;
      if (fallback === undefined || (fallback.loopback && !a.loopback)) fallback = a;
    }
    return fallback?.bare ?? '';
  }

  /** Called (after the lists are updated) whenever the set of addresses changed. */
  onChange(fn: () => void): void {
    this.#listeners.push(fn);
  }

  /** Re-reads the addresses soon (once per event-loop turn however often it is asked). */
  refreshSoon(): void {
    if (this.#scheduled || this.#closed) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#closed) this.#refresh();
    });
  }

  close(): void {
    this.#closed = true;
    this.#watch?.close();
    this.#watch = undefined;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #openNetlink(): void {
    const w = watchAddressChanges(
      () => {
        this.#reopens = 0;
        this.refreshSoon();
      },
      (reason) => {
        this.#watch = undefined;
        if (this.#closed) return;
        // Announcements may have been lost: read everything now, then listen again.
        this.refreshSoon();
        if (++this.#reopens > MAX_NETLINK_REOPENS) {
          this.#poll(`netlink failed ${MAX_NETLINK_REOPENS} times in a row (${reason})`);
          return;
        }
        this.#o.log.warn(`address changes: netlink socket failed (${reason}); reopening`);
        const t = setTimeout(
          () => {
            if (!this.#closed) this.#openNetlink();
          },
          Math.min(this.#o.pollMs, 1000),
        );
        t.unref();
      },
    );
    if (typeof w === 'string') {
      this.#poll(w);
      return;
    }
    this.#watch = w;
    this.#o.log.debug('address changes: following rtnetlink announcements');
    // A change between the first read and the socket's bind would otherwise go unseen.
    this.refreshSoon();
  }

  #poll(reason: string): void {
    if (this.#timer || this.#o.pollMs <= 0) return;
    this.#o.log.info(`address changes: ${reason}; re-reading the addresses every ${this.#o.pollMs} ms`);
    this.#timer = setInterval(() => this.#refresh(), this.#o.pollMs);
    this.#timer.unref();
  }

  #refresh(): void {
    let changed: boolean;
    try {
      changed = this.#read();
    } catch (e) {
      this.#o.log.warn(`address changes: cannot read the interfaces: ${(e as Error).message}`);
      return;
    }
    if (!changed) return;
    for (const fn of this.#listeners) {
      try {
        fn();
      } catch (e) {
        this.#o.log.error(`address changes: a listener failed: ${(e as Error).stack ?? String(e)}`);
      }
    }
  }

  /** Reads the interfaces; true when the addresses differ from the last read. */
  #read(): boolean {
    const seen: Array<{ bindable: string; bare: string; v6: boolean; loopback: boolean; cidr: string }> = [];
    for (const [name, addrs] of Object.entries((this.#o.interfaces ?? networkInterfaces)())) {
      for (const a of addrs ?? []) {
        const v6 = a.family === 'IPv6';
        const bindable = v6 && a.address.startsWith('fe80:') ? `${a.address}%${name}` : a.address;
        seen.push({ bindable, bare: a.address, v6, loopback: a.internal, cidr: a.cidr ?? a.address });
      }
    }
    const key = seen.map((a) => `${a.bindable} ${a.cidr}`).join(' ');
    if (key === this.#key) return false;
    this.#key = key;
    const list: HostAddress[] = seen.map((a) => ({ ...a, net: AddressSet.parse([a.cidr]) }));
    const bindable = [...new Set(list.map((a) => a.bindable))];
    this.#list = list;
    this.#bindable = bindable;
    this.#own = new Set(list.map((a) => a.bare));
    return true;
  }
}

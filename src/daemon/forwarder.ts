// Forwards remote calls (CALLIT, BCAST, INDIRECT) to the target service over UDP and relays
// its reply. A bounded table of calls in flight: each entry has its own xid, timeout and the
// one address a reply is accepted from; a retransmitted call already in flight is dropped;
// when the table is full the oldest call is given up. Nothing waits on a slow target.

import { XdrError, XdrWriter } from '../xdr/index.js';
import {
  AUTH_NONE_EMPTY,
  AcceptStat,
  type AuthStat,
  RpcOutcome,
  decodeReply,
  encodeOpaqueAuth,
  MsgType,
  RPC_VERSION,
} from '../rpc/index.js';
import {
  PMAP_VERS,
  encodePmapCallResult,
  encodeRmtCallRes,
  formatUaddr,
  isWildcardHost,
  parseUaddr,
} from '../proto/index.js';
import { mergeAddress, type RemoteCallRequest, type RemoteCallResult } from '../rpcbind/index.js';
import { normalizeAddress } from '../net/index.js';
import { MAX_FORWARD_ARGS_BYTES, MAX_FORWARD_RESULT_BYTES } from '../limits.js';
import type { DatagramPort } from '../transport/forwarding-socket.js';
import type { TransportLog } from '../transport/handler.js';

export interface ForwarderOptions {
  socket: DatagramPort;
  /** Calls in flight at once. */
  maxInFlight: number;
  /** How long a forwarded call waits for its reply. */
  timeoutMs: number;
  /**
   * Whether an address is one of this host's own now (the address monitor's answer, kept
   * current by rtnetlink): a target registered on any other address is not forwarded to.
   */
  isOwnAddress: (addr: string) => boolean;
  log: TransportLog;
}

/** Counters for logs and tests. */
export interface ForwarderCounters {
  forwarded: number;
  answered: number;
  timedOut: number;
  evicted: number;
  duplicates: number;
  refused: number;
  /** Datagrams on the forwarding socket that were not an awaited reply from its target. */
  stray: number;
}

interface Pending {
  readonly xid: number;
  readonly callerKey: string;
  readonly host: string;
  readonly port: number;
  readonly timer: NodeJS.Timeout;
  readonly req: RemoteCallRequest;
  readonly settle: (r: RemoteCallResult) => void;
}

/** One spelling per address, so a reply's source compares equal to where we sent the call. */
function canonical(addr: string): string {
  const a = normalizeAddress(addr);
  // No IPv4 address or host name holds a colon; net.isIPv6 cost ~30 µs a call here (its
  // regular expression), on every forwarded call (a CPU profile of LTP's rpc_broadcast_exp).
  if (!a.includes(':')) return a;
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a;
  }
}

export class Forwarder {
  readonly #o: ForwarderOptions;
  /** Our xid -> call, in the order the calls were forwarded (oldest first). */
  readonly #byXid = new Map<number, Pending>();
  readonly #byCaller = new Map<string, Pending>();
  #nextXid = (Math.random() * 0x100000000) >>> 0;
  readonly counters: ForwarderCounters = {
    forwarded: 0,
    answered: 0,
    timedOut: 0,
    evicted: 0,
    duplicates: 0,
    refused: 0,
    stray: 0,
  };

  constructor(o: ForwarderOptions) {
    this.#o = o;
    o.socket.onMessage((msg, host, port) => this.#onDatagram(msg, host, port));
  }

  get inFlight(): number {
    return this.#byXid.size;
  }

  /** state.remoteCall: forwards one call; resolves with the answer for the original caller. */
  forward(req: RemoteCallRequest): Promise<RemoteCallResult> {
    const { ctx, call, args, target } = req;
    const callerKey = `${ctx.netid} ${ctx.peerAddress} ${ctx.peerPort} ${call.xid}`;
    // A client retransmitting while we still wait: the first copy's answer serves both.
    if (this.#byCaller.has(callerKey)) {
      this.counters.duplicates++;
      return Promise.resolve(RpcOutcome.NO_REPLY);
    }
    const dest = this.#destination(target.addr);
    if (!dest || args.args.length > MAX_FORWARD_ARGS_BYTES) {
      this.counters.refused++;
      return Promise.resolve(failure(req));
    }
    if (this.#byXid.size >= this.#o.maxInFlight) {
      const oldest = this.#byXid.values().next().value;
      if (oldest) {
        this.counters.evicted++;
        this.#finish(oldest, failure(oldest.req));
      }
    }
    const xid = this.#allocateXid();
    const w = new XdrWriter(64 + call.cred.body.length + args.args.length);
    w.uint32(xid).uint32(MsgType.CALL).uint32(RPC_VERSION).uint32(args.prog).uint32(args.vers).uint32(args.proc);
    encodeOpaqueAuth(w, call.cred); // the caller's own credentials (AUTH_NONE or AUTH_SYS)
    encodeOpaqueAuth(w, AUTH_NONE_EMPTY);
    w.fixedOpaque(args.args);
    const msg = w.toBuffer();
    return new Promise<RemoteCallResult>((resolve) => {
      const timer = setTimeout(() => {
        this.counters.timedOut++;
        this.#finish(entry, failure(req));
      }, this.#o.timeoutMs);
      timer.unref();
      const entry: Pending = { xid, callerKey, host: dest.host, port: dest.port, timer, req, settle: resolve };
      this.#byXid.set(xid, entry);
      this.#byCaller.set(callerKey, entry);
      this.counters.forwarded++;
      this.#o.socket.send(msg, dest.host, dest.port);
    });
  }

  /** Gives up every call in flight (their callers get no answer). */
  close(): void {
    for (const p of [...this.#byXid.values()]) this.#finish(p, RpcOutcome.NO_REPLY);
  }

  #destination(uaddr: string): { host: string; port: number } | undefined {
    const hp = parseUaddr(uaddr);
    if (!hp || hp.port === 0) return undefined;
    if (isWildcardHost(hp.host)) return { host: hp.host.includes(':') ? '::1' : '127.0.0.1', port: hp.port };
    const host = canonical(hp.host);
    // Never aim at another host: that would make us a reflector for whoever can register.
    return this.#isLocal(host) ? { host, port: hp.port } : undefined;
  }

  #isLocal(host: string): boolean {
    // Asked per call, not cached here: an address added or removed counts at once, and no
    // forwarded call pays for re-reading the host's addresses.
    return host === '127.0.0.1' || host === '::1' || this.#o.isOwnAddress(host);
  }

  #allocateXid(): number {
    do this.#nextXid = (this.#nextXid + 1) >>> 0;
    while (this.#byXid.has(this.#nextXid));
    return this.#nextXid;
  }

  #finish(p: Pending, r: RemoteCallResult): void {
    if (this.#byXid.get(p.xid) !== p) return;
    clearTimeout(p.timer);
    this.#byXid.delete(p.xid);
    this.#byCaller.delete(p.callerKey);
    p.settle(r);
  }

  #onDatagram(msg: Buffer, host: string, port: number): void {
    const p = msg.length >= 4 ? this.#byXid.get(msg.readUInt32BE(0)) : undefined;
    // Only the address and port we sent the call to may answer it.
    if (!p || port !== p.port || canonical(host) !== p.host) {
      this.counters.stray++;
      return;
    }
    let reply: ReturnType<typeof decodeReply>;
    try {
      reply = decodeReply(msg);
    } catch (e) {
      if (!(e instanceof XdrError)) throw e;
      this.counters.stray++; // not a reply: keep waiting for the real one
      return;
    }
    this.counters.answered++;
    const req = p.req;
    if (reply.kind !== 'success') {
      this.#finish(p, req.procedure === 'INDIRECT' ? targetError(reply) : RpcOutcome.NO_REPLY);
      return;
    }
    const results = Buffer.from(reply.results.rest());
    if (results.length > MAX_FORWARD_RESULT_BYTES) {
      this.#finish(p, failure(req));
      return;
    }
    this.#finish(p, success(req, p, results));
  }
}

/** A call that could not be completed: silence, except INDIRECT, which reports it. */
function failure(req: RemoteCallRequest): RemoteCallResult {
  return req.procedure === 'INDIRECT' ? RpcOutcome.acceptError(AcceptStat.SYSTEM_ERR) : RpcOutcome.NO_REPLY;
}

/** INDIRECT passes the target's own refusal on to the caller. */
function targetError(reply: Exclude<ReturnType<typeof decodeReply>, { kind: 'success' }>): RemoteCallResult {
  switch (reply.kind) {
    case 'accepted-error':
      return reply.stat === AcceptStat.PROG_MISMATCH
        ? RpcOutcome.progMismatch(reply.low ?? 0, reply.high ?? 0)
        : RpcOutcome.acceptError(reply.stat);
    case 'auth-error':
      return reply.stat >= 1 && reply.stat <= 7
        ? RpcOutcome.authError(reply.stat as AuthStat)
        : RpcOutcome.acceptError(AcceptStat.SYSTEM_ERR);
    case 'rpc-mismatch':
      return RpcOutcome.acceptError(AcceptStat.SYSTEM_ERR);
  }
}

function success(req: RemoteCallRequest, p: Pending, results: Buffer): RemoteCallResult {
  if (req.version === PMAP_VERS) return (w: XdrWriter) => encodePmapCallResult(w, { port: p.port, res: results });
  // The target's address as the caller can reach it: merged like a GETADDR answer.
  const addr = mergeAddress(req.ctx, req.target.netid, req.target.addr) ?? formatUaddr(p.host, p.port);
  return (w: XdrWriter) => encodeRmtCallRes(w, { addr, results });
}

// How rpcinfo reaches rpcbind and services: the local socket, a host's rpcbind (stream first,
// then datagram, in the family of the host's first address), a service found through rpcbind.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import {
  ClntStat,
  RpcClient,
  RpcClientError,
  RpcbindClient,
  StreamTransport,
  UdpTransport,
  connectTransport,
  locateService,
} from '../client/index.js';
import type { RpcTransport } from '../client/index.js';
import { formatUaddr, PMAP_PORT } from '../proto/index.js';
import { N2AXLATEFAILURE, spcreateerror } from './clnt-messages.js';
import type { CliNetid, Ctx } from './rpcinfo-context.js';

export function clientError(e: unknown): RpcClientError {
  if (e instanceof RpcClientError) return e;
  throw e;
}

/** The local rpcbind (Debian's rpcinfo uses the path only). Exits with its create error. */
export async function localRpcbind(ctx: Ctx, what: string, timeoutMs: number): Promise<RpcbindClient> {
  try {
    const t = await StreamTransport.connect({ kind: 'local', path: ctx.socketPath }, { connectTimeoutMs: timeoutMs });
    return new RpcbindClient(t, { timeoutMs });
  } catch (e) {
    const err = clientError(e);
    ctx.die(spcreateerror(what, err.stat, err));
  }
}

export interface HostRpcbind {
  rb: RpcbindClient;
  /** Universal address we used to reach rpcbind. */
  uaddr: string;
}

/** clnt_rpcbind_create: first address of host, tcp (or tcp6), falling back to udp (or udp6). */
export async function hostRpcbind(ctx: Ctx, host: string, timeoutMs: number, netid?: CliNetid): Promise<HostRpcbind> {
  let addr: string;
  let family: 4 | 6;
  try {
    if (isIP(host)) {
      addr = host;
      family = isIP(host) === 6 ? 6 : 4;
    } else {
      const r = await lookup(host, netid === 'udp6' || netid === 'tcp6' ? { family: 6 } : netid ? { family: 4 } : {});
      addr = r.address;
      family = r.family === 6 ? 6 : 4;
    }
  } catch {
    ctx.die(spcreateerror("rpcinfo: can't contact rpcbind", N2AXLATEFAILURE));
  }
  const order: Array<'tcp' | 'udp'> = netid ? [netid.startsWith('udp') ? 'udp' : 'tcp'] : ['tcp', 'udp'];
  let last: RpcClientError | undefined;
  for (const proto of order) {
    let t: RpcTransport;
    try {
      t =
        proto === 'tcp'
          ? await StreamTransport.connect(
              { kind: 'tcp', host: addr, port: PMAP_PORT, family },
              { connectTimeoutMs: timeoutMs },
            )
          : await UdpTransport.connect({ host: addr, port: PMAP_PORT, family });
    } catch (e) {
      last = clientError(e);
      continue;
    }
    return { rb: new RpcbindClient(t, { timeoutMs }), uaddr: formatUaddr(addr, PMAP_PORT) };
  }
  const err = last ?? new RpcClientError('RPC_UNKNOWNPROTO');
  ctx.die(spcreateerror("rpcinfo: can't contact rpcbind", err.stat, err));
}

/**
 * ip_getclient: find (prog, vers) through rpcbind over proto then proto6, connect to it.
 * Errors are printed as "<host>: <create error>".
 */
export async function ipClient(
  ctx: Ctx,
  host: string,
  prog: number,
  vers: number,
  proto: 'tcp' | 'udp',
  timeoutMs: number,
): Promise<RpcClient> {
  let sawUnknownHost = false;
  for (const netid of [proto, `${proto}6`] as const) {
    let where: { host: string; port: number };
    try {
      where = await locateService({ host, netid, prog, vers, timeoutMs });
    } catch (e) {
      const err = clientError(e);
      if (err.code === 'RPC_UNKNOWNHOST') {
        sawUnknownHost = true;
        continue;
      }
      ctx.die(spcreateerror(host, err.stat, err));
    }
    try {
      const t = await connectTransport({ netid, host: where.host, port: where.port, timeoutMs });
      return new RpcClient(t, prog, vers, { timeoutMs });
    } catch (e) {
      const err = clientError(e);
      ctx.die(spcreateerror(host, err.stat, err));
    }
  }
  if (sawUnknownHost) ctx.die(spcreateerror(host, ClntStat.RPC_UNKNOWNHOST));
  ctx.die(`Cannot find suitable transport for protocol ${proto}`);
}

/** clnt_tp_create for one netid: errors are returned for the caller's prefix. */
export async function netidClient(
  ctx: Ctx,
  host: string,
  netid: CliNetid,
  prog: number,
  vers: number,
  timeoutMs: number,
): Promise<RpcClient> {
  try {
    if (netid === 'local' || netid === 'unix') {
      // The local rpcbind answers for local services with their socket path.
      const rb = await StreamTransport.connect(
        { kind: 'local', path: ctx.socketPath },
        { connectTimeoutMs: timeoutMs },
      );
      const c = new RpcbindClient(rb, { timeoutMs });
      let path: string;
      try {
        path = await c.getAddr({ prog, vers, netid, addr: '', owner: '' });
      } finally {
        c.close();
      }
      if (path === '') throw new RpcClientError('RPC_PROGNOTREGISTERED', { phase: 'create' });
      const t = await StreamTransport.connect({ kind: 'local', path }, { connectTimeoutMs: timeoutMs });
      return new RpcClient(t, prog, vers, { timeoutMs });
    }
    const where = await locateService({ host, netid, prog, vers, timeoutMs });
    const t = await connectTransport({ netid, host: where.host, port: where.port, timeoutMs });
    return new RpcClient(t, prog, vers, { timeoutMs });
  } catch (e) {
    const err = clientError(e);
    ctx.die(spcreateerror('rpcinfo', err.code === 'RPC_CANTRECV' ? ClntStat.RPC_CANTRECV : err.stat, err));
  }
}

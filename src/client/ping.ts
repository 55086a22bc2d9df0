// Finding a service through rpcbind (GETADDR v4 → v3 → GETPORT v2) and pinging it with NULL
// calls, discovering its versions from PROG_MISMATCH the way rpcinfo does.

import { parseUaddr } from '../proto/index.js';
import { IPPROTO_TCP, IPPROTO_UDP } from '../proto/index.js';
import { connectTransport, familyOf, resolveHost } from './connect.js';
import { RpcClient } from './rpc-client.js';
import { RpcClientError } from './rpc-client-error.js';
import { RpcbindClient } from './rpcbind-client.js';
import type { Netid } from './rpc-transport.js';

export const MAX_VERS = 0xffffffff;

export interface LocateOptions {
  host: string;
  netid: Exclude<Netid, 'local'>;
  prog: number;
  vers: number;
  timeoutMs?: number;
  /** Skip rpcbind and use this port (rpcinfo -n). */
  port?: number;
}

/** Asks rpcbind on `host` where (prog, vers) listens for `netid`; returns its host and port. */
export async function locateService(o: LocateOptions): Promise<{ host: string; port: number }> {
  const family = familyOf(o.netid) ?? 4;
  const host = await resolveHost(o.host, family);
  const timeout = o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {};
  const rb = await RpcbindClient.connect({ netid: o.netid, host, ...timeout });
  try {
    const query = { prog: o.prog, vers: o.vers, netid: o.netid, addr: '', owner: '' };
    let addr: string | undefined;
    for (const v of [4, 3] as const) {
      try {
        addr = await rb.getAddr(query, v);
        break;
      } catch (e) {
        if (!(e instanceof RpcClientError) || (e.code !== 'RPC_PROGVERSMISMATCH' && e.code !== 'RPC_PROGUNAVAIL'))
          throw e;
      }
    }
    if (addr === undefined) {
      const prot = o.netid.startsWith('udp') ? IPPROTO_UDP : IPPROTO_TCP;
      const port = await rb.getPort({ prog: o.prog, vers: o.vers, prot, port: 0 });
      if (port === 0) throw new RpcClientError('RPC_PROGNOTREGISTERED', { phase: 'create' });
      return { host, port };
    }
    if (addr === '') throw new RpcClientError('RPC_PROGNOTREGISTERED', { phase: 'create' });
    const hp = parseUaddr(addr);
    if (!hp)
      throw new RpcClientError('RPC_CANTDECODERES', { phase: 'create', detail: `bad address ${JSON.stringify(addr)}` });
    return hp;
  } finally {
    rb.close();
  }
}

/** Opens an RpcClient to a service found through rpcbind (or at a fixed port). */
export async function connectService(o: LocateOptions): Promise<RpcClient> {
  const where = o.port ? { host: o.host, port: o.port } : await locateService(o);
  const t = await connectTransport({
    netid: o.netid,
    host: where.host,
    port: where.port,
    ...(o.timeoutMs ? { timeoutMs: o.timeoutMs } : {}),
  });
  return new RpcClient(t, o.prog, o.vers, o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {});
}

export interface PingResult {
  vers: number;
  ok: boolean;
  error?: RpcClientError;
}

export type VersionRange = { low: number; high: number } | { error: RpcClientError; vers: number };

/** NULL call to version 0 (then MAX_VERS): the PROG_MISMATCH reply gives the version range. */
export async function discoverVersions(client: RpcClient): Promise<VersionRange> {
  const probe = async (vers: number): Promise<RpcClientError | undefined> => {
    try {
      await client.nullCall(vers);
      return undefined;
    } catch (e) {
      if (e instanceof RpcClientError) return e;
      throw e;
    }
  };
  const e0 = await probe(0);
  if (e0 === undefined) {
    const eMax = await probe(MAX_VERS);
    if (eMax === undefined) return { low: 0, high: MAX_VERS };
    if (eMax.code === 'RPC_PROGVERSMISMATCH') return { low: eMax.low ?? 0, high: eMax.high ?? 0 };
    return { error: eMax, vers: MAX_VERS };
  }
  if (e0.code === 'RPC_PROGVERSMISMATCH') return { low: e0.low ?? 0, high: e0.high ?? 0 };
  return { error: e0, vers: 0 };
}

/** Pings one version, or every version the server reports (capped at `maxVersions`). */
export async function ping(client: RpcClient, vers?: number, maxVersions = 1024): Promise<PingResult[]> {
  const one = async (v: number): Promise<PingResult> => {
    try {
      await client.nullCall(v);
      return { vers: v, ok: true };
    } catch (e) {
      if (e instanceof RpcClientError) return { vers: v, ok: false, error: e };
      throw e;
    }
  };
  if (vers !== undefined) return [await one(vers)];
  const range = await discoverVersions(client);
  if ('error' in range) return [{ vers: range.vers, ok: false, error: range.error }];
  const out: PingResult[] = [];
  for (let v = range.low; v <= range.high && out.length < maxVersions; v++) out.push(await one(v));
  return out;
}

// Opening a transport from a netid and a host (resolved per address family) or a local socket.

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { PMAP_PORT } from '../proto/index.js';
import { RpcClientError } from './rpc-client-error.js';
import { StreamTransport } from './rpc-transport-stream.js';
import { UdpTransport } from './rpc-transport-udp.js';
import type { Netid, RpcTransport } from './rpc-transport.js';

/** Where rpcbind listens locally; newer clients try the abstract name first. */
export const RPCBIND_SOCKET_PATH = '/run/rpcbind.sock';
export const RPCBIND_ABSTRACT_NAME = '\0/run/rpcbind.sock';

export type ConnectOptions =
  | { netid: 'udp' | 'tcp' | 'udp6' | 'tcp6'; host: string; port?: number; timeoutMs?: number; maxReplyBytes?: number }
  | { netid: 'local'; path?: string; timeoutMs?: number; maxReplyBytes?: number };

export function familyOf(netid: Netid): 4 | 6 | undefined {
  if (netid === 'udp' || netid === 'tcp') return 4;
  if (netid === 'udp6' || netid === 'tcp6') return 6;
  return undefined;
}

/** Resolves `host` to one address of `family`; RPC_UNKNOWNHOST when there is none. */
export async function resolveHost(host: string, family: 4 | 6): Promise<string> {
  const lit = isIP(host);
  if (lit !== 0) {
    if (lit === family) return host;
    throw new RpcClientError('RPC_UNKNOWNHOST', { phase: 'create', detail: `${host} is not IPv${family}` });
  }
  try {
    const r = await lookup(host, { family });
    return r.address;
  } catch {
    throw new RpcClientError('RPC_UNKNOWNHOST', { phase: 'create', detail: host });
  }
}

export async function connectTransport(opts: ConnectOptions): Promise<RpcTransport> {
  const maxReply = opts.maxReplyBytes !== undefined ? { maxReplyBytes: opts.maxReplyBytes } : {};
  const connectTimeoutMs = opts.timeoutMs ?? 10_000;
  if (opts.netid === 'local') {
    return StreamTransport.connect(
      { kind: 'local', path: opts.path ?? RPCBIND_SOCKET_PATH },
      { ...maxReply, connectTimeoutMs },
    );
  }
  const family = familyOf(opts.netid) ?? 4;
  const host = await resolveHost(opts.host, family);
  const port = opts.port ?? PMAP_PORT;
  if (opts.netid === 'udp' || opts.netid === 'udp6') return UdpTransport.connect({ host, port, family });
  return StreamTransport.connect({ kind: 'tcp', host, port, family }, { ...maxReply, connectTimeoutMs });
}

/** The local rpcbind socket: the abstract name first, then the path (like newer libtirpc). */
export async function connectLocal(opts: { path?: string; timeoutMs?: number } = {}): Promise<RpcTransport> {
  if (opts.path)
    return connectTransport({
      netid: 'local',
      path: opts.path,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    });
  try {
    return await connectTransport({ netid: 'local', path: RPCBIND_ABSTRACT_NAME });
  } catch {
    return connectTransport({ netid: 'local', path: RPCBIND_SOCKET_PATH });
  }
}

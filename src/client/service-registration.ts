// For Node.js RPC services: register (prog, vers) with the local rpcbind on start — over the
// local socket when it answers, else over loopback — and unregister on exit.

import { IPPROTO_TCP, IPPROTO_UDP } from '../proto/index.js';
import { formatUaddr } from '../proto/index.js';
import { RpcbindClient } from './rpcbind-client.js';

export interface ServiceEndpoint {
  netid: 'udp' | 'tcp' | 'udp6' | 'tcp6';
  port: number;
  /** Host part of the universal address; the wildcard address by default. */
  host?: string;
}

export interface RegistrationOptions {
  prog: number;
  vers: number;
  endpoints: ServiceEndpoint[];
  timeoutMs?: number;
  /** Unregister on SIGINT/SIGTERM (then exit) and on process 'beforeExit'. Default true. */
  unregisterOnExit?: boolean;
}

export interface Registration {
  /** How rpcbind was reached. */
  via: 'local' | 'loopback-tcp';
  /** Endpoints rpcbind accepted. */
  registered: ServiceEndpoint[];
  unregister(): Promise<void>;
}

async function openRpcbind(timeoutMs: number): Promise<{ rb: RpcbindClient; via: Registration['via'] }> {
  try {
    return { rb: await RpcbindClient.connect({ netid: 'local-auto', timeoutMs }), via: 'local' };
  } catch {
    return { rb: await RpcbindClient.connect({ netid: 'tcp', host: '127.0.0.1', timeoutMs }), via: 'loopback-tcp' };
  }
}

function uaddrOf(e: ServiceEndpoint): string {
  const host = e.host ?? (e.netid.endsWith('6') ? '::' : '0.0.0.0');
  return formatUaddr(host, e.port);
}

/** Registers every endpoint; v4 SET, falling back to portmap v2 SET for udp/tcp. */
export async function registerService(o: RegistrationOptions): Promise<Registration> {
  const timeoutMs = o.timeoutMs ?? 5000;
  const { rb, via } = await openRpcbind(timeoutMs);
  const registered: ServiceEndpoint[] = [];
  try {
    for (const e of o.endpoints) {
      let ok: boolean;
      try {
        ok = await rb.set({ prog: o.prog, vers: o.vers, netid: e.netid, addr: uaddrOf(e), owner: '' });
      } catch {
        if (e.netid !== 'udp' && e.netid !== 'tcp') throw new Error(`rpcbind refused ${e.netid}`);
        const prot = e.netid === 'udp' ? IPPROTO_UDP : IPPROTO_TCP;
        ok = await rb.pmapSet({ prog: o.prog, vers: o.vers, prot, port: e.port });
      }
      if (ok) registered.push(e);
    }
  } finally {
    rb.close();
  }
  let done = false;
  const unregister = async (): Promise<void> => {
    if (done) return;
    done = true;
    detach();
    const c = await openRpcbind(timeoutMs);
    try {
      for (const e of registered) {
        await c.rb.unset({ prog: o.prog, vers: o.vers, netid: e.netid, addr: '', owner: '' }).catch(() => false);
      }
    } finally {
      c.rb.close();
    }
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    void unregister().finally(() => process.kill(process.pid, sig));
  };
  const onBeforeExit = (): void => void unregister();
  const detach = (): void => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('beforeExit', onBeforeExit);
  };
  if (o.unregisterOnExit ?? true) {
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    process.once('beforeExit', onBeforeExit);
  }
  return { via, registered, unregister };
}

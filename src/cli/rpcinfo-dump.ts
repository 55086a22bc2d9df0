// rpcinfo's listing modes: the v3/v4 dump (default) and its short form (-s), the v2 dump (-p).

import { RpcbindClient } from '../client/index.js';
import type { PmapMapping, Rpcb } from '../client/index.js';
import { formatUaddr, IPPROTO_TCP, IPPROTO_UDP } from '../proto/index.js';
import { sperror } from './clnt-messages.js';
import { CliExit, padL, padR } from './rpcinfo-context.js';
import type { CliNetid, Ctx } from './rpcinfo-context.js';
import { clientError, hostRpcbind, ipClient, localRpcbind } from './rpcinfo-handles.js';
import { printJson } from './rpcinfo-json.js';

const DUMP_TIMEOUT_MS = 60_000;

async function fetchRpcbList(ctx: Ctx, rb: RpcbindClient): Promise<Rpcb[]> {
  try {
    return await rb.dump(3);
  } catch (e) {
    const err = clientError(e);
    if (err.code !== 'RPC_PROGVERSMISMATCH' && err.code !== 'RPC_PROGUNAVAIL') {
      ctx.die(sperror("rpcinfo: can't contact rpcbind: ", err));
    }
    try {
      if (err.low === 4) return await rb.dump(4);
      if (err.high === 2) {
        const list = await rb.pmapDump();
        return list.map((m) => ({
          prog: m.prog,
          vers: m.vers,
          netid: m.prot === IPPROTO_UDP ? 'udp' : m.prot === IPPROTO_TCP ? 'tcp' : padL(m.prot, 6),
          addr: formatUaddr('0.0.0.0', m.port),
          owner: 'unknown',
        }));
      }
      return [];
    } catch (e2) {
      ctx.die(sperror("rpcinfo: can't contact rpcbind: ", clientError(e2)));
    }
  }
}

/** Default mode and -s. */
export async function rpcbDump(ctx: Ctx, short: boolean, netid: CliNetid | undefined, args: string[]): Promise<void> {
  if (args.length > 1) ctx.usage();
  const host = args[0];
  const timeoutMs = ctx.timeout(DUMP_TIMEOUT_MS);
  const rb =
    host === undefined
      ? await localRpcbind(ctx, "rpcinfo: can't contact rpcbind", timeoutMs)
      : (await hostRpcbind(ctx, host, timeoutMs, netid)).rb;
  let list: Rpcb[];
  try {
    list = await fetchRpcbList(ctx, rb);
  } finally {
    rb.close();
  }
  if (ctx.json) {
    if (short)
      printJson(ctx, {
        mode: 'short',
        host: host ?? null,
        programs: summarize(list).map((s) => ({ ...s, service: ctx.serviceName(s.program) ?? null })),
      });
    else
      printJson(ctx, {
        mode: 'dump',
        host: host ?? null,
        registrations: list.map((b) => ({
          program: b.prog,
          version: b.vers,
          netid: b.netid,
          address: b.addr,
          service: ctx.serviceName(b.prog) ?? null,
          owner: b.owner,
        })),
      });
    return;
  }
  if (list.length === 0) {
    ctx.print('No remote programs registered.\n');
    return;
  }
  if (!short) {
    ctx.print('   program version netid     address                service    owner\n');
    for (const b of list) {
      ctx.print(
        `${padL(b.prog, 10)}${padL(b.vers, 5)}    ${padR(b.netid, 9)} ${padR(b.addr, 22)} ${padR(ctx.serviceName(b.prog) ?? '-', 10)} ${b.owner}\n`,
      );
    }
    return;
  }
  ctx.print('   program version(s) netid(s)                         service     owner\n');
  for (const s of summarize(list)) {
    const vers = s.versions.join(',');
    const netids = s.netids.join(',').slice(0, 255);
    ctx.print(
      `${padL(s.program, 10)}  ${vers}${vers.length < 10 ? ' '.repeat(10 - vers.length) : ' '}${padR(netids, 32)} ${padR(ctx.serviceName(s.program) ?? '-', 11)} ${s.owner}\n`,
    );
  }
}

interface ShortRow {
  program: number;
  versions: number[];
  netids: string[];
  owner: string;
}

/** Groups by program in first-seen order; versions and netids newest first, as rpcinfo -s shows them. */
export function summarize(list: Rpcb[]): ShortRow[] {
  const rows = new Map<number, ShortRow>();
  for (const b of list) {
    let r = rows.get(b.prog);
    if (!r) {
      r = { program: b.prog, versions: [], netids: [], owner: b.owner };
      rows.set(b.prog, r);
    }
    // rpcinfo prepends each new item: print order is reverse first-seen.
    if (!r.versions.includes(b.vers)) r.versions.unshift(b.vers);
    if (!r.netids.includes(b.netid)) r.netids.unshift(b.netid);
  }
  return [...rows.values()];
}

/** -p [host]. */
export async function pmapDump(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length > 1) ctx.usage();
  const host = args[0];
  const timeoutMs = ctx.timeout(DUMP_TIMEOUT_MS);
  let list: PmapMapping[];
  let rb: RpcbindClient;
  if (host === undefined) {
    rb = await localRpcbind(ctx, "rpcinfo: can't contact portmapper", timeoutMs);
  } else {
    const c = await ipClient(ctx, host, 100000, 2, 'tcp', timeoutMs);
    rb = new RpcbindClient(c.transport, { timeoutMs });
  }
  try {
    list = await rb.pmapDump();
  } catch (e) {
    const err = clientError(e);
    if (err.code === 'RPC_PROGVERSMISMATCH' || err.code === 'RPC_PROGUNAVAIL') {
      if ((err.low ?? 0) > 2)
        ctx.eprint(`${host ?? '(null)'} does not support portmapper.  Try rpcinfo ${host ?? '(null)'} instead\n`);
      throw new CliExit(1);
    }
    ctx.die(sperror("rpcinfo: can't contact portmapper", err));
  } finally {
    rb.close();
  }
  if (ctx.json) {
    printJson(ctx, {
      mode: 'pmapdump',
      host: host ?? null,
      mappings: list.map((m) => ({
        program: m.prog,
        version: m.vers,
        protocol: m.prot === IPPROTO_UDP ? 'udp' : m.prot === IPPROTO_TCP ? 'tcp' : m.prot,
        port: m.port,
        service: ctx.serviceName(m.prog) ?? null,
      })),
    });
    return;
  }
  if (list.length === 0) {
    ctx.print('No remote programs registered.\n');
    return;
  }
  ctx.print('   program vers proto   port  service\n');
  for (const m of list) {
    const proto = m.prot === IPPROTO_UDP ? 'udp' : m.prot === IPPROTO_TCP ? 'tcp' : String(m.prot);
    const name = ctx.serviceName(m.prog);
    ctx.print(`${padL(m.prog, 10)}${padL(m.vers, 5)}${padL(proto, 6)}${padL(m.port, 7)}${name ? `  ${name}` : ''}\n`);
  }
}

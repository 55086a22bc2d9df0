// rpcinfo -l (GETADDRLIST), -d (UNSET over the local socket), -b (broadcast).

import { lookupService } from 'node:dns/promises';
import { RpcbindClient, StreamTransport, broadcast } from '../client/index.js';
import type { RpcbEntry } from '../client/index.js';
import { formatUaddr, NcSemantics } from '../proto/index.js';
import { sperrno, sperror } from './clnt-messages.js';
import { CliExit, isNetid, padL, padR } from './rpcinfo-context.js';
import type { CliNetid, Ctx } from './rpcinfo-context.js';
import { clientError, hostRpcbind } from './rpcinfo-handles.js';
import { printJson } from './rpcinfo-json.js';

export async function addrList(ctx: Ctx, netid: CliNetid | undefined, args: string[]): Promise<void> {
  if (args.length !== 3) ctx.usage();
  const host = args[0]!;
  const timeoutMs = ctx.timeout(60_000);
  const { rb, uaddr } = await hostRpcbind(ctx, host, timeoutMs, netid);
  let list: RpcbEntry[];
  let prog = 0;
  let vers = 0;
  try {
    prog = ctx.progNum(args[1]!);
    vers = ctx.versNum(args[2]!);
    list = await rb.getAddrList({ prog, vers, netid: rb.netid, addr: uaddr, owner: '' });
  } catch (e) {
    ctx.die(sperror("rpcinfo: can't contact rpcbind: ", clientError(e)));
  } finally {
    rb.close();
  }
  const cls = (s: number): string => (s === NcSemantics.CLTS ? 'clts' : s === NcSemantics.COTS ? 'cots' : 'cots_ord');
  if (ctx.json) {
    printJson(ctx, {
      mode: 'addrlist',
      host,
      program: prog,
      version: vers,
      service: ctx.serviceName(prog) ?? null,
      entries: list.map((e) => ({
        address: e.maddr,
        netid: e.netid,
        semantics: cls(e.semantics),
        protofmly: e.protofmly,
        proto: e.proto,
      })),
    });
    return;
  }
  if (list.length === 0) {
    ctx.print('No remote programs registered.\n');
    return;
  }
  ctx.print('   program vers  tp_family/name/class    address\t\t  service\n');
  for (const e of list) {
    const tp = `${e.protofmly}/${e.proto}/${cls(e.semantics)} `.slice(0, 127);
    ctx.print(
      `${padL(prog, 10)}${padL(vers, 3)}    ${padR(tp, 24)}${padR(e.maddr, 24)} ${padR(ctx.serviceName(prog) ?? '-', 13)}\n`,
    );
  }
}

export async function deleteReg(ctx: Ctx, netidArg: string | undefined, args: string[]): Promise<void> {
  if (args.length !== 2) ctx.usage();
  if (netidArg !== undefined && !isNetid(netidArg)) ctx.die(`rpcinfo: netid ${netidArg} not supported`);
  const prog = ctx.progNum(args[0]!);
  const vers = ctx.versNum(args[1]!);
  const timeoutMs = ctx.timeout(10_000);
  let ok = false;
  try {
    const t = await StreamTransport.connect({ kind: 'local', path: ctx.socketPath }, { connectTimeoutMs: timeoutMs });
    const rb = new RpcbindClient(t, { timeoutMs });
    try {
      ok = await rb.unset({ prog, vers, netid: netidArg ?? '', addr: '', owner: '' }, 3);
    } finally {
      rb.close();
    }
  } catch {
    ok = false;
  }
  if (ctx.json) printJson(ctx, { mode: 'delete', program: prog, version: vers, netid: netidArg ?? null, deleted: ok });
  if (!ok) ctx.die(`rpcinfo: Could not delete registration for prog ${args[0]} version ${args[1]}`);
}

export async function broadcastPing(ctx: Ctx, args: string[]): Promise<void> {
  if (args.length !== 2) ctx.usage();
  const prog = ctx.progNum(args[0]!);
  const vers = ctx.versNum(args[1]!);
  const replies: Array<{ address: string; host: string }> = [];
  const pending: Array<Promise<void>> = [];
  try {
    await broadcast(
      { prog, vers, proc: 0 },
      (r) => {
        const uaddr = formatUaddr(r.address, r.port);
        pending.push(
          lookupService(r.address, r.port)
            .then((n) => n.hostname)
            .catch(() => 'unknown')
            .then((host) => {
              replies.push({ address: uaddr, host });
              if (!ctx.json) ctx.print(`${uaddr}\t${host}\n`);
            }),
        );
      },
      { timeoutMs: ctx.timeout(10_000) },
    );
  } catch (e) {
    ctx.die(`rpcinfo: broadcast failed: ${sperrno(clientError(e).stat)}`);
  }
  await Promise.all(pending);
  if (ctx.json) printJson(ctx, { mode: 'broadcast', program: prog, version: vers, replies });
  throw new CliExit(0);
}

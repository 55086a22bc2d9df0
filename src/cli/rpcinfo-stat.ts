// rpcinfo -m: rpcbind's GETSTAT counters, laid out in tab-stop columns like Linux rpcinfo.

import type { RpcbStat, RpcbStatByVers } from '../client/index.js';
import { sperror } from './clnt-messages.js';
import type { Ctx } from './rpcinfo-context.js';
import { clientError, hostRpcbind, localRpcbind } from './rpcinfo-handles.js';
import { printJson } from './rpcinfo-json.js';

const TABSTOP = 8;
const PMAP_HDR = ['NULL', 'SET', 'UNSET', 'GETPORT', 'DUMP', 'CALLIT'];
const RPCB3_HDR = ['NULL', 'SET', 'UNSET', 'GETADDR', 'DUMP', 'CALLIT', 'TIME', 'U2T', 'T2U'];
const RPCB4_HDR = [...RPCB3_HDR, 'VERADDR', 'INDRECT', 'GETLIST', 'GETSTAT'];
const GETADDR = 3;
const CALLIT = 5;

function field(s: RpcbStat, i: number, v4: boolean): string {
  let f = '';
  if (i === 1) f = `${s.setinfo}/`;
  else if (i === 2) f = `${s.unsetinfo}/`;
  else if (i === GETADDR) f = `${s.addrinfo.reduce((a, r) => a + r.success, 0)}/`;
  else if (i === CALLIT) f = `${s.rmtinfo.reduce((a, r) => a + r.success, 0)}/`;
  const n = v4 && i === GETADDR ? (s.info[GETADDR] ?? 0) + (s.info[11] ?? 0) : (s.info[i] ?? 0);
  return f + String(n);
}

function table(s: RpcbStat, hdr: string[], from: number, to: number, v4: boolean): string {
  let head = '';
  let line = '';
  for (let i = from; i <= to; i++) {
    const f = field(s, i, v4);
    const width = TABSTOP * (1 + Math.floor(f.length / TABSTOP));
    const name = hdr[i]!;
    head += name + ' '.repeat(Math.max(0, width - name.length));
    line += f + ' '.repeat(width - f.length);
  }
  return `${head}\n${line}\n`;
}

function rmtcallStat(ctx: Ctx, s: RpcbStat, v4: boolean): string {
  let out = v4
    ? 'prog\t\tvers\tproc\tnetid\tindirect success failure\n'
    : 'prog\t\tvers\tproc\tnetid\tsuccess\tfailure\n';
  for (const r of s.rmtinfo) {
    out += (ctx.serviceName(r.prog) ?? String(r.prog | 0)).padEnd(16);
    out += `${r.vers | 0}\t${r.proc | 0}\t${r.netid}\t`;
    if (v4) out += `${r.indirect}\t `;
    out += `${r.success}\t${r.failure}\n`;
  }
  return out;
}

function getaddrStat(ctx: Ctx, s: RpcbStat): string {
  let out = 'prog\t\tvers\tnetid\t  success\tfailure\n';
  for (const a of s.addrinfo) {
    out += (ctx.serviceName(a.prog) ?? String(a.prog | 0)).padEnd(16);
    out += `${a.vers | 0}\t${a.netid}\t  ${String(a.success).padEnd(12)}\t${a.failure}\n`;
  }
  return out;
}

export function formatStats(ctx: Ctx, st: RpcbStatByVers): string {
  const [v2, v3, v4] = st;
  let out = `PORTMAP (version 2) statistics\n${table(v2, PMAP_HDR, 0, 5, false)}\n`;
  if (v2.info[CALLIT]) out += `PMAP_RMTCALL call statistics\n${rmtcallStat(ctx, v2, false)}\n`;
  if (v2.info[GETADDR]) out += `PMAP_GETPORT call statistics\n${getaddrStat(ctx, v2)}\n`;
  out += `RPCBIND (version 3) statistics\n${table(v3, RPCB3_HDR, 0, 8, false)}\n`;
  if (v3.info[CALLIT]) out += `RPCB_RMTCALL (version 3) call statistics\n${rmtcallStat(ctx, v3, false)}\n`;
  if (v3.info[GETADDR]) out += `RPCB_GETADDR (version 3) call statistics\n${getaddrStat(ctx, v3)}\n`;
  out += `RPCBIND (version 4) statistics\n${table(v4, RPCB4_HDR, 0, 8, true)}${table(v4, RPCB4_HDR, 9, 12, true)}`;
  if (v4.info[CALLIT] || v4.info[10])
    out += `\nRPCB_RMTCALL (version 4) call statistics\n${rmtcallStat(ctx, v4, true)}`;
  if (v4.info[GETADDR]) out += `\nRPCB_GETADDR (version 4) call statistics\n${getaddrStat(ctx, v4)}`;
  return out;
}

export async function getStat(ctx: Ctx, args: string[]): Promise<void> {
  const host = args[0];
  const timeoutMs = ctx.timeout(60_000);
  const rb =
    host === undefined
      ? await localRpcbind(ctx, "rpcinfo: can't contact rpcbind", timeoutMs)
      : (await hostRpcbind(ctx, host, timeoutMs)).rb;
  let st: RpcbStatByVers;
  try {
    st = await rb.getStat();
  } catch (e) {
    ctx.die(sperror("rpcinfo: can't contact rpcbind: ", clientError(e)));
  } finally {
    rb.close();
  }
  if (ctx.json) {
    const names = ['2', '3', '4'];
    printJson(ctx, {
      mode: 'stat',
      host: host ?? null,
      versions: st.map((s, i) => ({
        version: Number(names[i]),
        calls: s.info,
        set: s.setinfo,
        unset: s.unsetinfo,
        getaddr: s.addrinfo.map((a) => ({
          program: a.prog,
          version: a.vers,
          netid: a.netid,
          success: a.success,
          failure: a.failure,
        })),
        rmtcall: s.rmtinfo.map((r) => ({
          program: r.prog,
          version: r.vers,
          procedure: r.proc,
          netid: r.netid,
          success: r.success,
          failure: r.failure,
          indirect: r.indirect,
        })),
      })),
    });
    return;
  }
  ctx.print(formatStats(ctx, st));
}

// rpcinfo's ping modes: -t/-u (ip_ping), -T netid host (progping), -a uaddr (addrping), and
// our extension `rpcinfo HOST PROG [VERS]` without -T: tcp, then udp.

import { MAX_VERS, RpcClient, type RpcClientError, connectTransport } from '../client/index.js';
import { parseUaddr } from '../proto/index.js';
import { sperror, spcreateerror } from './clnt-messages.js';
import { CliExit, isNetid } from './rpcinfo-context.js';
import type { CliNetid, Ctx } from './rpcinfo-context.js';
import { clientError, ipClient, netidClient } from './rpcinfo-handles.js';
import { printJson } from './rpcinfo-json.js';
import type { JsonValue } from './rpcinfo-json.js';

const PING_TIMEOUT_MS = 10_000;

interface Outcome {
  vers: number;
  error: RpcClientError | undefined;
}

async function nullCall(c: RpcClient, vers: number): Promise<RpcClientError | undefined> {
  try {
    await c.nullCall(vers);
    return undefined;
  } catch (e) {
    return clientError(e);
  }
}

/** pstatus: prints the outcome of one ping; false on failure. */
function report(ctx: Ctx, prog: number, o: Outcome, results: Outcome[]): boolean {
  results.push(o);
  if (ctx.json) return !o.error;
  if (o.error) {
    ctx.eprint(`${sperror('rpcinfo', o.error)}\n`);
    ctx.print(`program ${prog} version ${o.vers} is not available\n`);
    return false;
  }
  ctx.print(`program ${prog} version ${o.vers} ready and waiting\n`);
  return true;
}

function finishJson(
  ctx: Ctx,
  mode: string,
  host: string | null,
  netid: string,
  prog: number,
  results: Outcome[],
): void {
  if (!ctx.json) return;
  const rows: JsonValue[] = results.map((r) => ({
    version: r.vers,
    ok: !r.error,
    error: r.error ? sperror('RPC', r.error).slice(5) : null,
  }));
  printJson(ctx, { mode, host, netid, program: prog, service: ctx.serviceName(prog) ?? null, results: rows });
}

/**
 * Pings `vers`, or discovers versions through version 0 / MAX_VERS and pings each.
 * `reconnect` gives a fresh handle for a version (addrping makes one per version).
 */
async function pingVersions(
  ctx: Ctx,
  client: RpcClient,
  prog: number,
  vers: number | undefined,
): Promise<{ failed: boolean; results: Outcome[] }> {
  const results: Outcome[] = [];
  if (vers !== undefined) {
    const ok = report(ctx, prog, { vers, error: await nullCall(client, vers) }, results);
    return { failed: !ok, results };
  }
  let low: number;
  let high: number;
  const e0 = await nullCall(client, 0);
  if (e0?.code === 'RPC_PROGVERSMISMATCH') {
    low = e0.low ?? 0;
    high = e0.high ?? 0;
  } else if (e0 === undefined) {
    const eMax = await nullCall(client, MAX_VERS);
    if (eMax?.code === 'RPC_PROGVERSMISMATCH') {
      low = eMax.low ?? 0;
      high = eMax.high ?? 0;
    } else if (eMax === undefined) {
      low = 0;
      high = MAX_VERS;
    } else {
      report(ctx, prog, { vers: MAX_VERS, error: eMax }, results);
      return { failed: true, results };
    }
  } else {
    report(ctx, prog, { vers: 0, error: e0 }, results);
    return { failed: true, results };
  }
  let failed = false;
  // Bounded: a lying server's range is capped.
  for (let v = low, n = 0; v <= high && n < 1024; v++, n++) {
    if (!report(ctx, prog, { vers: v, error: await nullCall(client, v) }, results)) failed = true;
  }
  return { failed, results };
}

/** -t / -u. */
export async function ipPing(ctx: Ctx, proto: 'tcp' | 'udp', args: string[]): Promise<void> {
  if (args.length < 2 || args.length > 3) ctx.usage();
  const host = args[0]!;
  const prog = ctx.progNum(args[1]!);
  const vers = args.length === 3 ? ctx.versNum(args[2]!) : undefined;
  const timeoutMs = ctx.timeout(PING_TIMEOUT_MS);
  const client = await ipClient(ctx, host, prog, vers ?? 0, proto, timeoutMs);
  try {
    const r = await pingVersions(ctx, client, prog, vers);
    finishJson(ctx, 'ping', host, client.netid, prog, r.results);
    if (r.failed) throw new CliExit(1);
  } finally {
    client.close();
  }
}

/** -T netid host prog [vers]; without -T (our extension) tcp then udp. */
export async function progPing(ctx: Ctx, netid: CliNetid | undefined, args: string[]): Promise<void> {
  if (args.length < 2 || args.length > 3) ctx.usage();
  if (netid === undefined) {
    // Extension: try tcp; on failure to reach the service, udp.
    const host = args[0]!;
    const prog = ctx.progNum(args[1]!);
    if (args.length === 3) ctx.versNum(args[2]!);
    const saveErr = ctx.err;
    try {
      return await progPing(ctx, 'tcp', args);
    } catch (e) {
      if (!(e instanceof CliExit) || ctx.out !== '') throw e;
      ctx.err = saveErr;
      void host;
      void prog;
      return progPing(ctx, 'udp', args);
    }
  }
  const prog = ctx.progNum(args[1]!);
  const vers = args.length === 3 ? ctx.versNum(args[2]!) : undefined;
  const timeoutMs = ctx.timeout(PING_TIMEOUT_MS);
  const client = await netidClient(ctx, args[0]!, netid, prog, vers ?? 0, timeoutMs);
  try {
    const r = await pingVersions(ctx, client, prog, vers);
    finishJson(ctx, 'ping', args[0]!, client.netid, prog, r.results);
    if (r.failed) throw new CliExit(1);
  } finally {
    client.close();
  }
}

/** -a serv_address -T netid prog [vers]. */
export async function addrPing(ctx: Ctx, address: string, netidArg: string | undefined, args: string[]): Promise<void> {
  if (args.length < 1 || args.length > 2 || netidArg === undefined) ctx.usage();
  if (!isNetid(netidArg)) ctx.die(`rpcinfo: Could not find ${netidArg}`);
  const netid = netidArg;
  const prog = ctx.progNum(args[0]!);
  const vers = args.length === 2 ? ctx.versNum(args[1]!) : undefined;
  const timeoutMs = ctx.timeout(PING_TIMEOUT_MS);
  let client: RpcClient;
  try {
    if (netid === 'local' || netid === 'unix') {
      const t = await connectTransport({ netid: 'local', path: address, timeoutMs });
      client = new RpcClient(t, prog, vers ?? 0, { timeoutMs });
    } else {
      const hp = parseUaddr(address);
      const fam = hp ? (hp.host.includes(':') ? 6 : 4) : 0;
      if (!hp || (fam === 6) !== netid.endsWith('6')) ctx.die(`${ctx.prog}: rpcinfo: no address for client handle`);
      const t = await connectTransport({ netid, host: hp.host, port: hp.port, timeoutMs });
      client = new RpcClient(t, prog, vers ?? 0, { timeoutMs });
    }
  } catch (e) {
    if (e instanceof CliExit) throw e;
    const err = clientError(e);
    ctx.die(spcreateerror('rpcinfo', err.stat, err));
  }
  try {
    const r = await pingVersions(ctx, client, prog, vers);
    finishJson(ctx, 'ping', address, netid, prog, r.results);
    if (r.failed) throw new CliExit(1);
  } finally {
    client.close();
  }
}

// GETSTAT counters, kept as rpcbind keeps them: calls per procedure per version, successful
// SETs and UNSETs, and lookup / remote-call tables keyed by (prog, vers[, proc], netid) with the
// newest row first. The tables are bounded: past the cap the oldest row is dropped.

import { MAX_STAT_ADDR_ROWS, MAX_STAT_RMT_ROWS } from '../limits.js';
import { RPCBSTAT_HIGHPROC } from '../proto/index.js';
import type { AddrStatRow, RmtStatRow, RpcbStat, RpcbStatByVers } from '../proto/index.js';

interface VersionStats {
  info: Int32Array;
  setinfo: number;
  unsetinfo: number;
  /** Keyed rows; Map order is oldest first, reversed on output. */
  addr: Map<string, AddrStatRow>;
  rmt: Map<string, RmtStatRow>;
}

/** One remote call for the rmtcall table. */
export interface RemoteCallStat {
  /** The target: program, version and procedure asked for. */
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  /** The netid it was looked up (and would be forwarded) on. */
  readonly netid: string;
  /** Whether the target is registered with that exact version. */
  readonly success: boolean;
  /** INDIRECT rather than CALLIT/BCAST. */
  readonly indirect: boolean;
}

function fresh(): VersionStats {
  return { info: new Int32Array(RPCBSTAT_HIGHPROC), setinfo: 0, unsetinfo: 0, addr: new Map(), rmt: new Map() };
}

/** Version (2, 3, 4) to table index (0, 1, 2); -1 for others. */
function index(vers: number): number {
  return vers >= 2 && vers <= 4 ? vers - 2 : -1;
}

export class RpcbStats {
  readonly #byVers: [VersionStats, VersionStats, VersionStats] = [fresh(), fresh(), fresh()];
  readonly #maxAddrRows: number;
  readonly #maxRmtRows: number;
  #lastAddrRow: { table: Map<string, AddrStatRow>; row: AddrStatRow } | undefined;

  constructor(maxAddrRows = MAX_STAT_ADDR_ROWS, maxRmtRows = MAX_STAT_RMT_ROWS) {
    this.#maxAddrRows = maxAddrRows;
    this.#maxRmtRows = maxRmtRows;
  }

  /** Every call of a procedure the version has, before its arguments are decoded. */
  procedureCalled(vers: number, proc: number): void {
    const i = index(vers);
    if (i < 0 || proc >= RPCBSTAT_HIGHPROC) return;
    const s = this.#byVers[i]!;
    s.info[proc] = (s.info[proc]! + 1) | 0;
  }

  setDone(vers: number, success: boolean): void {
    const i = index(vers);
    if (i >= 0 && success) this.#byVers[i]!.setinfo++;
  }

  unsetDone(vers: number, success: boolean): void {
    const i = index(vers);
    if (i >= 0 && success) this.#byVers[i]!.unsetinfo++;
  }

  /** A lookup (GETPORT, GETADDR, GETVERSADDR, GETADDRLIST) on a known netid. */
  lookupDone(vers: number, prog: number, lookupVers: number, netid: string, success: boolean): void {
    const i = index(vers);
    if (i < 0) return;
    const table = this.#byVers[i]!.addr;
    // A flood of identical lookups (the usual load) hits the row of the previous one without
    // building a key (bench/run.ts getport2-udp). The row must still be in the table.
    const last = this.#lastAddrRow;
    let row: AddrStatRow | undefined;
    if (
      last !== undefined &&
      last.table === table &&
      last.row.prog === prog &&
      last.row.vers === lookupVers &&
      last.row.netid === netid
    ) {
      row = last.row;
    } else {
      const key = `${prog}:${lookupVers}:${netid}`;
      row = table.get(key);
      if (!row) {
        row = { prog, vers: lookupVers, success: 0, failure: 0, netid };
        table.set(key, row);
        if (table.size > this.#maxAddrRows) {
          table.delete(table.keys().next().value!);
          this.#lastAddrRow = undefined;
        }
      }
      // Evictions reset the memo, so a remembered row is always still in its table.
      if (table.get(key) === row) this.#lastAddrRow = { table, row };
    }
    if (success) row.success++;
    else row.failure++;
  }

  /** A remote call (CALLIT, BCAST, INDIRECT) that arrived over `vers` of program 100000. */
  remoteCallDone(vers: number, c: RemoteCallStat): void {
    const { prog, vers: rvers, proc, netid } = c;
    const i = index(vers);
    if (i < 0) return;
    const table = this.#byVers[i]!.rmt;
    const key = `${prog}:${rvers}:${proc}:${netid}`;
    let row = table.get(key);
    if (!row) {
      // rpcbind starts a new row's indirect count at 1 whatever the call was.
      row = { prog, vers: rvers, proc, success: 0, failure: 0, indirect: 1, netid };
      table.set(key, row);
      if (table.size > this.#maxRmtRows) table.delete(table.keys().next().value!);
    } else if (c.indirect) {
      row.indirect++;
    }
    if (c.success) row.success++;
    else row.failure++;
  }

  snapshot(): RpcbStatByVers {
    const one = (s: VersionStats): RpcbStat => ({
      info: Array.from(s.info),
      setinfo: s.setinfo,
      unsetinfo: s.unsetinfo,
      addrinfo: [...s.addr.values()].reverse().map((r) => ({ ...r })),
      rmtinfo: [...s.rmt.values()].reverse().map((r) => ({ ...r })),
    });
    return [one(this.#byVers[0]), one(this.#byVers[1]), one(this.#byVers[2])];
  }
}

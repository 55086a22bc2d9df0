// The client library's one error type: every failed call or connection is an RpcClientError
// carrying a clnt_stat code (the numbers libtirpc uses), so callers and rpcinfo can map it.

export const ClntStat = {
  RPC_SUCCESS: 0,
  RPC_CANTENCODEARGS: 1,
  RPC_CANTDECODERES: 2,
  RPC_CANTSEND: 3,
  RPC_CANTRECV: 4,
  RPC_TIMEDOUT: 5,
  RPC_VERSMISMATCH: 6,
  RPC_AUTHERROR: 7,
  RPC_PROGUNAVAIL: 8,
  RPC_PROGVERSMISMATCH: 9,
  RPC_PROCUNAVAIL: 10,
  RPC_CANTDECODEARGS: 11,
  RPC_SYSTEMERROR: 12,
  RPC_UNKNOWNHOST: 13,
  RPC_PMAPFAILURE: 14,
  RPC_PROGNOTREGISTERED: 15,
  RPC_FAILED: 16,
  RPC_UNKNOWNPROTO: 17,
} as const;
export type ClntStatName = keyof typeof ClntStat;

export interface RpcClientErrorInit {
  /** Failed while connecting / resolving (libtirpc's "create" errors) or during a call. */
  phase?: 'create' | 'call';
  /** Node error code of an underlying socket error, e.g. ECONNREFUSED. */
  errno?: string;
  /** Version range from PROG_MISMATCH or RPC_MISMATCH. */
  low?: number;
  high?: number;
  /** auth_stat from an AUTH_ERROR reply. */
  authWhy?: number;
  /** Human-readable detail (not part of any parity-checked output). */
  detail?: string;
}

export class RpcClientError extends Error {
  readonly code: ClntStatName;
  readonly stat: number;
  readonly phase: 'create' | 'call';
  readonly errno: string | undefined;
  readonly low: number | undefined;
  readonly high: number | undefined;
  readonly authWhy: number | undefined;

  constructor(code: ClntStatName, init: RpcClientErrorInit = {}) {
    super(init.detail ? `${code}: ${init.detail}` : init.errno ? `${code} (${init.errno})` : code);
    this.name = 'RpcClientError';
    this.code = code;
    this.stat = ClntStat[code];
    this.phase = init.phase ?? 'call';
    this.errno = init.errno;
    this.low = init.low;
    this.high = init.high;
    this.authWhy = init.authWhy;
  }
}

export function isRpcClientError(e: unknown): e is RpcClientError {
  return e instanceof RpcClientError;
}

/** Node socket error → errno code string, if it has one. */
export function errnoOf(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const c = (e as { code: unknown }).code;
    if (typeof c === 'string') return c;
  }
  return undefined;
}

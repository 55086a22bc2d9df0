// Program 100000 numbers (RFC 1833): versions, procedures, protocols.

export const PMAP_PROG = 100000;
export const PMAP_PORT = 111;
export const PMAP_VERS = 2;
export const RPCB_VERS = 3;
export const RPCB_VERS4 = 4;
export const RPCB_LOW_VERS = 2;
export const RPCB_HIGH_VERS = 4;

export const PmapProc = {
  NULL: 0,
  SET: 1,
  UNSET: 2,
  GETPORT: 3,
  DUMP: 4,
  CALLIT: 5,
} as const;

export const RpcbProc = {
  NULL: 0,
  SET: 1,
  UNSET: 2,
  GETADDR: 3,
  DUMP: 4,
  CALLIT: 5, // v3
  BCAST: 5, // v4's name for CALLIT
  GETTIME: 6,
  UADDR2TADDR: 7,
  TADDR2UADDR: 8,
  GETVERSADDR: 9,
  INDIRECT: 10,
  GETADDRLIST: 11,
  GETSTAT: 12,
} as const;

/** Counters per version in rpcb_stat.info: one per v4 procedure (RPCBSTAT_HIGHPROC). */
export const RPCBSTAT_HIGHPROC = 13;

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;

/** netconfig semantics (nc_semantics). */
export const NcSemantics = { CLTS: 1, COTS: 2, COTS_ORD: 3, RAW: 4 } as const;

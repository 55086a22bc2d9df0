// Counters of the daemon's defences, in one plain object that metrics can read as they are.

export interface SecurityCounters {
  /** Calls refused (AUTH_TOOWEAK): by the access lists and hosts files, or as not local. */
  denied: number;
  /** Of those, refused because only local callers may make them without -i (SET, UNSET, GETSTAT). */
  deniedNotLocal: number;
  /** UDP datagrams dropped by the rate limiter. */
  udpRateLimited: number;
  /** Times a stream was paused by the rate limiter. */
  streamThrottled: number;
  /** UDP replies not sent because they were larger than a datagram that was no whole call. */
  udpAmplificationDropped: number;
  /** Connections closed to make room for a new one at the connection limit. */
  connectionsReaped: number;
  /** Connections closed at once because their source already held its share. */
  connectionsPerSourceRefused: number;
  /** Connections closed for not completing a record in time. */
  recordDeadlineClosed: number;
  /** Connections closed for not reading their replies. */
  outputCapClosed: number;
  /** Connections closed after being idle. */
  idleClosed: number;
  /** Connections closed for a framing error (record too large, too many fragments). */
  framingClosed: number;
  /** SETs refused because the owner's quota or the table is full. */
  quotaRefused: number;
  /** DUMP / GETSTAT calls from non-local callers. */
  remoteDumps: number;
  /** GETPORT sweeps detected (a source looking up many programs). */
  sweeps: number;
  /** Security log lines suppressed by the log's own rate limit. */
  logSuppressed: number;
}

export function newSecurityCounters(): SecurityCounters {
  return {
    denied: 0,
    deniedNotLocal: 0,
    udpRateLimited: 0,
    streamThrottled: 0,
    udpAmplificationDropped: 0,
    connectionsReaped: 0,
    connectionsPerSourceRefused: 0,
    recordDeadlineClosed: 0,
    outputCapClosed: 0,
    idleClosed: 0,
    framingClosed: 0,
    quotaRefused: 0,
    remoteDumps: 0,
    sweeps: 0,
    logSuppressed: 0,
  };
}

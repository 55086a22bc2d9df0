// Counters of the daemon's defences, in one plain object: the parts increment it where the
// event happens, and the Prometheus series read it as it is (daemon/metrics.ts).

export interface SecurityCounters {
  /** Calls refused (AUTH_TOOWEAK) by the access lists or hosts.allow/deny. */
  deniedAccessRule: number;
  /** Calls refused (AUTH_TOOWEAK) because only local callers may make them without -i (SET, UNSET, GETSTAT). */
  deniedNotLocal: number;
  /** Remote calls (CALLIT, BCAST, INDIRECT) refused because the forwarding deny list names their target. */
  deniedForwardRule: number;
  /** UDP datagrams dropped by the rate limiter. */
  udpRateLimited: number;
  /** Times a stream was paused by the rate limiter. */
  streamThrottled: number;
  /** UDP replies not sent because they were larger than a datagram that was no whole call. */
  udpAmplificationDropped: number;
  /** Datagrams the batched read dropped: longer than a slot, or of an unknown address family. */
  udpBatchDropped: number;
  /** UDP replies the kernel refused (batched sends, and send errors Node reports). */
  udpSendErrors: number;
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
  /** Times a source was shed (its packets dropped in the kernel for a while). */
  sourcesShed: number;
}

export function newSecurityCounters(): SecurityCounters {
  return {
    deniedAccessRule: 0,
    deniedNotLocal: 0,
    deniedForwardRule: 0,
    udpRateLimited: 0,
    streamThrottled: 0,
    udpAmplificationDropped: 0,
    udpBatchDropped: 0,
    udpSendErrors: 0,
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
    sourcesShed: 0,
  };
}

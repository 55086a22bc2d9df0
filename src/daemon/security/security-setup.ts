// Turns SecurityOptions into the running pieces: the access policy (with hosts.allow/deny
// read now) and the rate-limit admission functions of the transports.

import { RATE_MAX_TRACKED_SOURCES } from '../../limits.js';
import { AccessPolicy, isLocalCaller } from '../../rpcbind/index.js';
import type { CallerContext } from '../../rpc/index.js';
import { RateLimiter } from '../../transport/rate-limiter.js';
import { loadHostsAccess } from './hosts-access.js';
import type { SecurityLog } from './security-log.js';
import type { SecurityOptions } from './security-options.js';

export function buildAccessPolicy(s: SecurityOptions): { policy: AccessPolicy; warnings: string[] } {
  let hosts: ReturnType<typeof loadHostsAccess> = { rules: [], warnings: [] };
  if (s.hostsAllow !== undefined && s.hostsDeny !== undefined) {
    try {
      hosts = loadHostsAccess(s.hostsAllow, s.hostsDeny);
    } catch (e) {
      hosts.warnings.push(`cannot read hosts access files: ${(e as Error).message}`);
    }
  }
  return {
    policy: new AccessPolicy({ allow: s.allow, deny: s.deny, hostsRules: hosts.rules }),
    warnings: hosts.warnings,
  };
}

export interface RateAdmit {
  admit(ctx: CallerContext): boolean;
  waitMs(): number;
}

/**
 * Undefined when rate limiting is off. Loopback and local-socket callers are exempt by default.
 * `onOverLimit` hears of every call refused by a source's own limit (not the global one).
 */
export function buildRateAdmit(
  s: SecurityOptions,
  log: SecurityLog,
  transport: 'udp' | 'stream',
  onOverLimit?: (source: string) => void,
): RateAdmit | undefined {
  if (s.ratePerSecond === 0 && s.globalRatePerSecond === 0) return undefined;
  const limiter = new RateLimiter({
    perSourcePerSecond: s.ratePerSecond,
    perSourceBurst: s.rateBurst,
    globalPerSecond: s.globalRatePerSecond,
    maxSources: RATE_MAX_TRACKED_SOURCES,
  });
  return {
    admit(ctx: CallerContext): boolean {
      if (!s.rateLimitLocal && isLocalCaller(ctx)) return true;
      const key = ctx.netid === 'local' ? `uid:${ctx.uid ?? '?'}` : ctx.peerAddress;
      if (limiter.take(key)) return true;
      if (onOverLimit && limiter.refusedBySource && ctx.netid !== 'local') onOverLimit(key);
      log.rateLimited(ctx, transport === 'udp' ? 'udp' : 'stream');
      return false;
    },
    waitMs: () => limiter.waitMs(),
  };
}

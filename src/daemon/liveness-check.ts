// Drops registrations whose services have died: run in the background after a restore and,
// with --reap-interval, periodically. Never touches the portmapper's own entries.

import { networkInterfaces } from 'node:os';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { LIVENESS_CONCURRENT_PROBES, LIVENESS_PROBES_BETWEEN_PAUSES } from '../limits.js';
import { PMAP_PROG } from '../proto/index.js';
import type { ChangeJournal, Registration, Registry } from '../rpcbind/index.js';
import type { TransportLog } from '../transport/handler.js';
import { probeRegistration, type ProbeOptions } from './liveness-probe.js';

export interface LivenessCheckOptions {
  registry: Registry;
  log: TransportLog;
  /** Saves the table after drops (none are made while it cannot). */
  journal?: ChangeJournal;
  /** Overrides for tests. */
  probe?: Partial<ProbeOptions>;
  /** Set when shutting down: no new probes start. */
  signal?: AbortSignal;
}

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) out.add(a.address);
  return out;
}

/** Probes every registration but the portmapper's; removes the dead ones. Returns how many. */
export async function reapDeadRegistrations(o: LivenessCheckOptions): Promise<number> {
  const candidates = [...o.registry.entries()].filter((r) => r.prog !== PMAP_PROG);
  if (candidates.length === 0) return 0;
  const probe: ProbeOptions = { localAddresses: localAddresses(), ...o.probe };
  const dead: Array<{ reg: Registration; reason: string }> = [];
  let next = 0;
  // Most probes settle at once (remote addresses are not probed): without a pause now and then,
  // a big table would be checked in one stretch of microtasks, answering no calls meanwhile.
  const probesPerPause = Math.max(1, Math.floor(LIVENESS_PROBES_BETWEEN_PAUSES / LIVENESS_CONCURRENT_PROBES));
  const worker = async (): Promise<void> => {
    for (let mine = 0; next < candidates.length && !o.signal?.aborted; mine++) {
      if (mine % probesPerPause === 0) {
        await yieldToEventLoop();
        // The other workers went on meanwhile: they may have taken the last ones.
        if (next >= candidates.length || o.signal?.aborted) break;
      }
      const reg = candidates[next++]!;
      const res = await probeRegistration(reg, probe);
      if (res.verdict === 'dead') dead.push({ reg, reason: res.reason });
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIVENESS_CONCURRENT_PROBES, candidates.length) }, worker));
  // While the state cannot be saved, nothing is dropped: the next check will see them again.
  if (dead.length > 0 && o.journal && !o.journal.accepting()) {
    o.log.info(`liveness check: ${dead.length} dead registrations kept while the state cannot be saved`);
    return 0;
  }
  const dropped: Array<{ reg: Registration; reason: string }> = [];
  for (const { reg, reason } of dead) {
    // The service may have re-registered meanwhile: only the very entry probed goes.
    const now = o.registry.find(reg.prog, reg.vers, reg.netid);
    if (!now || now.vers !== reg.vers || now.addr !== reg.addr || now.owner !== reg.owner) continue;
    o.registry.unset(reg.prog, reg.vers, reg.netid, 'superuser');
    dropped.push({ reg, reason });
  }
  if (dropped.length === 0) return 0;
  const saved = (await o.journal?.persist()) ?? true;
  for (const { reg, reason } of dropped) {
    const what = `dead registration prog ${reg.prog} vers ${reg.vers} ${reg.netid} ${reg.addr} (owner ${reg.owner}): ${reason}`;
    o.log.warn(saved ? `dropped ${what}` : `kept ${what}; the state could not be saved`);
  }
  return saved ? dropped.length : 0;
}

/**
 * Which shipped WAL a restore uses: for the newest archive of an instance,
 * the chain of shipments after its end on each source; the source whose
 * chain reaches furthest wins (ties: the first in priority order), so that a
 * restore after losing the machine ends at the last line any remote has.
 */
import { isBriError } from '../../errors.js';
import type { ArchiveSources } from '../sources.js';
import { chainAfter, chainEndTime, listShipments } from './shipped-catalog.js';
import type { ShipmentRef } from './shipment.js';

export interface ShippedPlan {
  source: string;
  refs: ShipmentRef[];
  /** The archive's end line the chain continues. */
  afterLine: number;
  throughLine: number;
  /** Timestamp of the last shipped line (null: unknown). */
  endTime: number | null;
  /** First missing line when shipments exist past a gap (the restore stops before it). */
  gapAt: number | null;
}

export async function findShipped(sources: ArchiveSources, order: readonly string[], unreachable: ReadonlySet<string>, instanceId: string, afterLine: number): Promise<ShippedPlan | null> {
  let best: ShippedPlan | null = null;
  for (const name of order) {
    const remote = sources.remote(name);
    if (!remote || unreachable.has(name)) continue;
    let refs: ShipmentRef[];
    try {
      refs = (await listShipments(remote)).get(instanceId) ?? [];
    } catch (err) {
      if (isBriError(err)) continue; // a source that cannot be listed has nothing to give
      throw err;
    }
    const chain = chainAfter(refs, afterLine);
    if (chain.refs.length === 0 || (best && chain.throughLine <= best.throughLine)) continue;
    best = { source: name, refs: chain.refs, afterLine, throughLine: chain.throughLine, endTime: await chainEndTime(remote, chain), gapAt: chain.gapAt };
  }
  return best;
}

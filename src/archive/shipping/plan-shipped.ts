/**
 * Which shipped WAL a restore uses: for the newest archive of an instance,
 * the chain of shipments after its end on each source; the source whose
 * chain reaches furthest wins (ties: the first in priority order), so that a
 * restore after losing the machine ends at the last line any remote has.
 */
import { isBriError } from '../../errors.js';
import type { ArchiveSources } from '../copies/sources.js';
import { chainAfter, chainEndTime, chainStartTime, listShipments } from './shipped-catalog.js';
import type { ShipmentRef } from './shipment.js';

export interface ShippedPlan {
  source: string;
  refs: ShipmentRef[];
  /** The archive's end line the chain continues. */
  afterLine: number;
  throughLine: number;
  /** Timestamp of the last shipped line (null: unknown). */
  endTime: number | null;
  /** Timestamp of the first line the chain holds (null: unknown; read only for a chain from line 1, which no archive precedes). */
  startTime: number | null;
  /** First missing line when shipments exist past a gap (the restore stops before it). */
  gapAt: number | null;
  /** The other sources' chains, in priority order: a shipment that fails is taken from them. */
  others: Array<{ source: string; refs: ShipmentRef[] }>;
}

/** Each source's shipments, listed once for every instance a caller plans for. */
export type ShipmentListings = Map<string, Promise<Map<string, ShipmentRef[]>>>;

export async function findShipped(
  sources: ArchiveSources,
  order: readonly string[],
  unreachable: ReadonlySet<string>,
  instanceId: string,
  afterLine: number,
  listings: ShipmentListings = new Map(),
): Promise<ShippedPlan | null> {
  const chains: Array<{ source: string; chain: ReturnType<typeof chainAfter> }> = [];
  for (const name of order) {
    const remote = sources.remote(name);
    if (!remote || unreachable.has(name)) continue;
    let refs: ShipmentRef[];
    try {
      let listing = listings.get(name);
      if (!listing) {
        listing = listShipments(remote);
        listings.set(name, listing);
      }
      refs = (await listing).get(instanceId) ?? [];
    } catch (err) {
      if (isBriError(err)) continue; // a source that cannot be listed has nothing to give
      throw err;
    }
    const chain = chainAfter(refs, afterLine);
    // Shipments only past a gap right after the archive (the lines that continued it went with a deleted archive)
    // are a break to report, not nothing shipped: the restore stops at the archive's end and says which line is missing.
    if (chain.refs.length > 0 || (chain.gapAt !== null && afterLine > 0)) chains.push({ source: name, chain });
  }
  if (chains.length === 0) return null;
  const best = chains.reduce((a, b) => (b.chain.throughLine > a.chain.throughLine ? b : a));
  return {
    source: best.source,
    refs: best.chain.refs,
    afterLine,
    throughLine: best.chain.throughLine,
    endTime: await chainEndTime(sources.remote(best.source)!, best.chain),
    startTime: afterLine === 0 ? await chainStartTime(sources.remote(best.source)!, best.chain) : null,
    gapAt: best.chain.gapAt,
    others: chains.filter((c) => c !== best).map((c) => ({ source: c.source, refs: c.chain.refs })),
  };
}

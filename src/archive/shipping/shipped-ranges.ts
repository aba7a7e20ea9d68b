/** What `bri restore list` says of the shipped WAL: per source and instance, the shipped lines after the newest archive. */
import type { ArchiveSources } from '../copies/sources.js';
import type { MergedListing } from '../copies/catalog.js';
import { findShipped, type ShipmentListings } from './plan-shipped.js';
import { listShipments } from './shipped-catalog.js';
import type { ShipmentRef } from './shipment.js';

export interface ShippedRange {
  source: string;
  instanceId: string;
  /** The newest archive's end line, which the shipments continue (0: the instance has no archive, its shipped WAL starts at line 1). */
  afterLine: number;
  /** When the shipped WAL begins (known for an instance with no archive). */
  startTime: Date | null;
  throughLine: number;
  endTime: Date | null;
  /** First missing line, when shipments exist past a gap. */
  gapAt: number | null;
}

export async function shippedRanges(sources: ArchiveSources, merged: MergedListing, only: string[]): Promise<ShippedRange[]> {
  const newest = new Map<string, number>();
  for (const a of merged.archives) newest.set(a.manifest.instanceId, Math.max(newest.get(a.manifest.instanceId) ?? 0, a.manifest.timeRange.walLines.end));
  const down = new Set(merged.unreachable.map((u) => u.source));
  const out: ShippedRange[] = [];
  const listings: ShipmentListings = new Map();
  // Instances with no archive yet restore from their shipped WAL when it starts at line 1 (after line 0).
  for (const name of only) {
    const remote = sources.remote(name);
    if (!remote || down.has(name)) continue;
    if (!listings.has(name)) listings.set(name, listShipments(remote));
    const byInstance = await listings.get(name)!.catch(() => new Map<string, ShipmentRef[]>());
    for (const [id, refs] of byInstance) if (!newest.has(id) && refs.some((r) => r.firstLine === 1)) newest.set(id, 0);
  }
  for (const [instanceId, end] of newest) {
    for (const name of only) {
      const p = await findShipped(sources, [name], down, instanceId, end, listings);
      if (p) out.push({ source: p.source, instanceId, afterLine: end, throughLine: p.throughLine, startTime: p.startTime === null ? null : new Date(p.startTime), endTime: p.endTime === null ? null : new Date(p.endTime), gapAt: p.gapAt });
    }
  }
  return out;
}

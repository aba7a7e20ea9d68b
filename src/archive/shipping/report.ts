/**
 * How far shipping reaches, for `bri archive stats`: per remote, the line and
 * time its archives and shipments hold the instance through, against the
 * data directory's last line, from the remotes themselves (a stopped
 * database can be asked too), with the running shipper's live figures when
 * this process ships.
 */
import { isBriError } from '../../errors.js';
import { readArchiveState } from '../../store/archive-state.js';
import type { ArchiveSources } from '../copies/sources.js';
import { lineAt, segmentSpans } from '../../store/wal/wal-spans.js';
import { chainAfter, chainEndTime, listShipments } from './shipped-catalog.js';
import type { ShippingStatus } from './shipper.js';
import { shippingBase } from './shipping.js';

export interface ShippingReport {
  source: string;
  /** Absolute line through which the remote holds every line (null: no base archive there yet). */
  shippedThrough: number | null;
  /** Timestamp of that line (null when unknown). */
  shippedTimestamp: number | null;
  endLine: number;
  endTimestamp: number | null;
  lagLines: number;
  lagSeconds: number;
  /** Shipped objects after the base archive (0: the row is how far the remote's archives reach). */
  shipments: number;
  /** Whether this configuration ships continuously (off: the row still says how far the remote reaches). */
  continuous: boolean;
  /** The remote could not be asked. */
  error?: string;
  /** This process's shipper, when it runs. */
  live?: ShippingStatus;
}

export async function shippingReport(dataDir: string, archiveDir: string, sources: ArchiveSources, live: readonly ShippingStatus[], continuous: boolean): Promise<ShippingReport[]> {
  const state = await readArchiveState(dataDir);
  if (!state || sources.remotes.length === 0) return [];
  const spans = await segmentSpans(dataDir);
  const lastLocal = spans.length ? Math.max(0, spans[spans.length - 1]!.lastLine) : 0;
  const endLine = state.removedLines + lastLocal;
  const endTimestamp = lastLocal > 0 ? ((await lineAt(spans, lastLocal))?.timestamp ?? null) : null;
  const out: ShippingReport[] = [];
  for (const remote of sources.remotes) {
    const row: ShippingReport = { source: remote.name, shippedThrough: null, shippedTimestamp: null, endLine, endTimestamp, lagLines: 0, lagSeconds: 0, shipments: 0, continuous };
    const l = live.find((x) => x.source === remote.name);
    if (l) row.live = l;
    try {
      const base = await shippingBase(dataDir, archiveDir, state.instanceId, remote);
      if (base) {
        const chain = chainAfter((await listShipments(remote)).get(state.instanceId) ?? [], base.line);
        row.shippedThrough = chain.throughLine;
        row.shipments = chain.refs.length;
        row.shippedTimestamp = chain.refs.length ? await chainEndTime(remote, chain) : base.line === state.last?.endLine ? state.last.endTimestamp : null;
      }
    } catch (err) {
      if (!isBriError(err)) throw err;
      row.error = err.message;
    }
    row.lagLines = Math.max(0, endLine - (row.shippedThrough ?? 0));
    row.lagSeconds = row.lagLines > 0 && endTimestamp !== null && row.shippedTimestamp !== null ? Math.max(0, (endTimestamp - row.shippedTimestamp) / 1000) : 0;
    out.push(row);
  }
  return out;
}

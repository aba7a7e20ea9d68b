/**
 * Continuous shipping for a running database: one RemoteShipper per remote,
 * ticked every `intervalMs` and at every segment rotation, the lag noted as
 * lines are written, and the shipments an archive covers removed once that
 * archive is confirmed on the remote (archives absorb shipments).
 */
import * as path from 'node:path';
import { readArchiveState } from '../../store/archive-state.js';
import { listLocalArchives } from '../copies/local-catalog.js';
import { isRecordedHere, readAllCopyRecords, recordedCopyProblem, type CopyRecord } from '../copies/records.js';
import type { Clock, WalGrowth } from '../jobs/scheduler.js';
import { systemClock } from '../jobs/scheduler.js';
import type { ArchiveSources, RemoteSource } from '../copies/sources.js';
import { listSegments } from '../../store/layout.js';
import { RemoteShipper, type ShippingBase, type ShippingEvent, type ShippingStatus } from './shipper.js';
import { instancePrefix, parseShipmentKey, type ShipmentRef } from './shipment.js';
import { WalTail } from './wal-tail.js';
import { WalGate } from './wal-gate.js';
import { sharedShipmentEncoder } from './shared-encoder.js';
import type { AgeRecipients } from '../crypto/age-keys.js';
import type { EncryptionKey } from '../../format/encryption.js';

export interface ShippingConfig {
  enabled?: boolean;
  /** Ship at most this often (and at every segment rotation). Default 1000 ms. */
  intervalMs?: number;
}

export interface ShippingOptions {
  dataDir: string;
  archiveDir: string;
  sources: ArchiveSources;
  instanceId: string;
  intervalMs: number;
  /** Absolute number of the last line written. */
  endLine(): Promise<number>;
  clock?: Clock;
  onEvent?: (e: ShippingEvent) => void;
  /** A remote answered and holds no archive of the instance to continue. */
  onWaiting?: () => void;
  backoff?: { baseMs: number; maxMs: number };
  /** Every shipment is encrypted with age for these recipients. */
  encryptTo?: AgeRecipients;
  /** The key of encryption at rest: the chain is checked across a segment whose line before is gone. */
  key?: EncryptionKey;
}

/** Where an instance's shipments are compressed before they go out (its own: archive directories may be shared). */
export function shippingTmpDir(archiveDir: string, instanceId: string): string {
  return path.join(archiveDir, '.tmp', `shipping-${instanceId}`);
}

/**
 * Whether the record of an archive's upload to `remote` still vouches for the object there now (a HEAD:
 * `recordedCopyProblem`, the check upload and isStoredEverywhere make): a record alone only says what was
 * confirmed once, and a copy deleted or rewritten since holds none of the lines. A remote that does not
 * answer throws: nothing is taken as held on its word.
 */
function vouchedOn(remote: RemoteSource, records: Map<string, CopyRecord[]>): (archiveId: string) => Promise<boolean> {
  const asked = new Map<string, Promise<boolean>>();
  return (archiveId) => {
    // A record counts where it was made: a remote re-pointed under the same name holds none of them.
    const rec = records.get(archiveId)?.find((r) => r.source === remote.name && isRecordedHere(r, remote));
    if (!rec) return Promise.resolve(false);
    let answer = asked.get(archiveId);
    if (!answer) asked.set(archiveId, (answer = recordedCopyProblem(remote.store, rec).then((p) => p === null)));
    return answer;
  };
}

/**
 * The newest archive of the instance confirmed on `remote` and still there as confirmed (end line and pointer), else
 * line 0 of a WAL complete from line 1. Throws when the remote cannot be asked.
 */
export async function shippingBase(dataDir: string, archiveDir: string, instanceId: string, remote: RemoteSource): Promise<ShippingBase | null> {
  const records = await readAllCopyRecords(archiveDir);
  const recorded = (archiveId: string) => records.get(archiveId)?.some((r) => r.source === remote.name && isRecordedHere(r, remote)) ?? false;
  const candidates: Array<ShippingBase & { archiveId: string }> = [];
  for (const a of await listLocalArchives(archiveDir)) {
    const m = a.manifest;
    if (m.instanceId === instanceId && recorded(m.archiveId)) candidates.push({ archiveId: m.archiveId, line: m.timeRange.walLines.end, pointer: m.chain.lastPointer });
  }
  const state = await readArchiveState(dataDir);
  const tip = state?.last;
  if (tip && recorded(tip.archiveId)) candidates.push({ archiveId: tip.archiveId, line: tip.endLine, pointer: tip.lastPointer });
  // Newest first (a local manifest before the state file's word at one line): the first still there is the base, mostly one HEAD.
  candidates.sort((x, y) => y.line - x.line);
  const vouched = vouchedOn(remote, records);
  for (const c of candidates) if (await vouched(c.archiveId)) return { line: c.line, pointer: c.pointer };
  const segments = await listSegments(dataDir);
  return (state?.removedLines ?? 0) === 0 && (segments.length === 0 || segments[0]!.index === 0) ? { line: 0, pointer: '' } : null;
}

/**
 * The line ranges (first..last, absolute) that the instance's archives confirmed on `remote`, and still there as
 * confirmed, hold as lines, merged. Only the archives that hold a line of `shipped` are asked (a HEAD each).
 */
async function confirmedLineRanges(archiveDir: string, instanceId: string, remote: RemoteSource, shipped: readonly ShipmentRef[]): Promise<Array<[number, number]>> {
  const vouched = vouchedOn(remote, await readAllCopyRecords(archiveDir));
  const ranges: Array<[number, number]> = [];
  for (const a of await listLocalArchives(archiveDir)) {
    const m = a.manifest;
    const { start, end } = m.timeRange.walLines;
    if (m.instanceId !== instanceId || end <= start || !shipped.some((s) => s.firstLine <= end && start + 1 <= s.lastLine)) continue;
    if (await vouched(m.archiveId)) ranges.push([start + 1, end]);
  }
  ranges.sort((x, y) => x[0] - y[0]);
  const merged: Array<[number, number]> = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else merged.push([...r]);
  }
  return merged;
}

/**
 * Deletes the shipments of `instanceId` on `remote` that end at or before `throughLine` and whose every line an
 * archive confirmed there, and still there as confirmed, holds as a line. An archive that starts from a state after
 * lines no archive holds (a gap) holds them only as their effect: the shipments are their last copy, and stay. So
 * do all of them when the remote cannot say whether its archive copies are still the ones confirmed.
 */
export async function absorbShipments(remote: RemoteSource, instanceId: string, throughLine: number, archiveDir: string): Promise<number> {
  const shipped: ShipmentRef[] = [];
  for await (const o of remote.store.list(instancePrefix(instanceId))) {
    const ref = parseShipmentKey(o.key, o.size);
    if (ref && ref.lastLine <= throughLine) shipped.push(ref);
  }
  if (shipped.length === 0) return 0;
  const held = await confirmedLineRanges(archiveDir, instanceId, remote, shipped);
  const doomed = shipped.filter((ref) => held.some(([a, b]) => a <= ref.firstLine && ref.lastLine <= b)).map((ref) => ref.key);
  for (const key of doomed) await remote.store.delete(key);
  return doomed.length;
}

export class WalShipping {
  readonly shippers: RemoteShipper[];
  private timer: unknown = null;
  private unsubscribe: (() => void) | null = null;
  private stopped = false;
  private readonly clock: Clock;
  private lastSegment = -1;
  private readonly gate = new WalGate();

  constructor(private readonly opts: ShippingOptions) {
    this.clock = opts.clock ?? systemClock;
    const encode = sharedShipmentEncoder(shippingTmpDir(opts.archiveDir, opts.instanceId), opts.encryptTo);
    const tailFor = () => new WalTail(opts.dataDir, async () => (await readArchiveState(opts.dataDir))?.removedLines ?? 0, this.gate);
    this.shippers = opts.sources.remotes.map(
      (remote) =>
        new RemoteShipper(remote, {
          dataDir: opts.dataDir,
          encode,
          instanceId: opts.instanceId,
          tail: tailFor(),
          endLine: () => this.endLine(),
          ...(opts.key ? { key: opts.key } : {}),
          base: () => this.baseOf(remote),
          maxShipmentBytes: 4 * 1024 * 1024,
          backoff: opts.backoff ?? { baseMs: 500, maxMs: 30_000 },
          ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
          ...(opts.onWaiting ? { onWaiting: opts.onWaiting } : {}),
        }),
    );
  }

  /** Each remote's base, computed once per archive (reading every local manifest each tick would cost more than the tick). */
  private readonly bases = new Map<string, Promise<ShippingBase | null>>();

  private baseOf(remote: RemoteSource): Promise<ShippingBase | null> {
    let b = this.bases.get(remote.name);
    if (!b) {
      b = shippingBase(this.opts.dataDir, this.opts.archiveDir, this.opts.instanceId, remote);
      b.catch(() => this.bases.delete(remote.name));
      this.bases.set(remote.name, b);
    }
    return b;
  }

  /** An archive was made or uploaded: the bases may have moved. */
  invalidateBases(): void {
    this.bases.clear();
  }

  start(growth: WalGrowth): void {
    this.lastSegment = growth.segment();
    this.unsubscribe = growth.onAppend((lines) => {
      const now = this.clock.now();
      for (const s of this.shippers) s.noteAppend(now, lines);
      // A rotation closes a segment: ship it now rather than at the next tick.
      const seg = growth.segment();
      if (seg !== this.lastSegment) {
        this.lastSegment = seg;
        void this.tickAll();
      }
    });
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => {
      void this.tickAll().finally(() => this.arm());
    }, this.opts.intervalMs);
  }

  tickAll(force = false): Promise<void> {
    return Promise.all(this.shippers.map((s) => s.tick(force))).then(() => undefined);
  }

  status(): ShippingStatus[] {
    const now = this.clock.now();
    return this.shippers.map((s) => s.status(now));
  }

  /** The absolute end of the WAL, read when no cleanup is renumbering it (the store's count and removedLines agree). */
  endLine(): Promise<number> {
    return this.gate.read(this.opts.endLine);
  }

  /**
   * Runs `fn` (a WAL cleanup: renumbering, removedLines raised, segments deleted) while no shipper reads the
   * WAL: each read sees the directory wholly before or wholly after it.
   */
  withWalPaused<T>(fn: () => Promise<T>): Promise<T> {
    return this.gate.exclusive(fn);
  }

  /**
   * Ships every line written before the call (as many runs as it takes, retrying a failed remote once, now).
   * Returns that end line, or null when it could not be read; each shipper's status says how far it got.
   */
  async flush(final = false): Promise<number | null> {
    const target = await this.endLine().catch(() => null);
    if (target === null) {
      await this.tickAll(true);
      return null;
    }
    await Promise.all(this.shippers.map((s) => s.shipThrough(target, final)));
    return target;
  }

  /** Stops the timer and the append watch, ships what is left, and waits; answers the end line it shipped to (null: unknown), for the caller to tell who fell short. */
  async stop(): Promise<number | null> {
    if (this.stopped) return null;
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.unsubscribe?.();
    // The final shipment: a remote that fails it is not tried again, so that close() waits one retry budget at most.
    const target = await this.flush(true).catch(() => null);
    await Promise.all(this.shippers.map((s) => s.idle()));
    return target;
  }
}

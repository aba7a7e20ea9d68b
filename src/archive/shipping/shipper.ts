/**
 * Continuous WAL shipping: between archives, the lines written since the
 * last shipment go to each remote as small immutable objects, at most every
 * `intervalMs` and at every segment rotation. Off the write path: a timer
 * reads the WAL files and uploads; writes never wait for it. A remote that
 * fails is retried with backoff and jitter while the lag (lines and seconds
 * not yet shipped) is reported.
 *
 * Objects chain like archives: each starts at the line after the previous
 * one and continues its pointer. After a restart the shipper resumes from
 * what the remote already holds (the highest shipped line of the instance),
 * so it never ships a line twice nor skips one; lines an archive on that
 * remote already holds are not shipped again.
 */
import { asBriError, BriError, errnoOf, ErrorCodes, isBriError } from '../../errors.js';
import type { EncryptionKey } from '../../format/encryption.js';
import { ChainVerifier } from '../../store/wal/chain.js';
import { isMissingObject } from '../../remote/index.js';
import type { RemoteSource } from '../copies/sources.js';
import type { ShipmentEncoder } from './shared-encoder.js';
import { instancePrefix, linesDigest, parseShipmentKey, shipmentKey, shipmentMetadata, shipmentsFromPrefix, type ShipmentHeader, type ShipmentRef } from './shipment.js';
import { parseWalLine } from '../../format/wal-line.js';
import type { WalTail } from './wal-tail.js';

/** Where a remote's shipping may start: the end of the newest archive it holds, or line 0 of a WAL complete from its first line. */
export interface ShippingBase {
  line: number;
  pointer: string;
}

export interface ShippingStatus {
  source: string;
  /** Absolute line through which the remote holds every line (archives and shipments); null before the first base is known. */
  shippedThrough: number | null;
  /** Lines written and not yet on the remote. */
  lagLines: number;
  /** How long the oldest unshipped line has waited, ms. */
  lagMs: number;
  lastShipmentAt: number | null;
  shipments: number;
  failures: number;
  lastError: string | null;
  state: 'waiting-for-archive' | 'idle' | 'shipping' | 'backoff';
}

export type ShippingEvent =
  | { kind: 'shipped'; source: string; key: string; firstLine: number; lastLine: number; bytes: number; lagLines: number }
  | { kind: 'ship-failed'; source: string; error: BriError; retryInMs: number }
  /** An object of the instance's shipments that was never a complete put, removed at resume. */
  | { kind: 'ship-discarded'; source: string; key: string; reason: string };

export interface RemoteShipperContext {
  dataDir: string;
  /** Compresses a shipment into a temporary file (shared by the remotes that ship the same range). */
  encode: ShipmentEncoder;
  instanceId: string;
  tail: WalTail;
  /** Absolute number of the last line written so far. */
  endLine(): Promise<number>;
  /** The newest archive confirmed on this remote (its end line and pointer), or the genesis when the WAL is complete; null: none yet. */
  base(): Promise<ShippingBase | null>;
  onEvent?: (e: ShippingEvent) => void;
  /** The remote answered and holds no archive of the instance to continue: one is wanted there. */
  onWaiting?: () => void;
  /** The key of encryption at rest (without it, encrypted lines' links cannot be checked). */
  key?: EncryptionKey;
  maxShipmentBytes: number;
  backoff: { baseMs: number; maxMs: number };
}

export class RemoteShipper {
  private shippedThrough: number | null = null;
  private lastPointer = '';
  private resumed = false;
  private running: Promise<void> | null = null;
  private failures = 0;
  private retryAt = 0;
  private lastError: string | null = null;
  private lastShipmentAt: number | null = null;
  private shipments = 0;
  private unshippedSince: number | null = null;
  private lastLag = 0;
  /** Lines written since lastLag was measured (status stays live between runs). */
  private appendedSince = 0;
  /** When lines were written: [lines written in all, at ms], oldest first, to tell the age of the oldest unshipped one. */
  private writes: Array<[number, number]> = [];
  private written = 0;
  /** Another process ships this instance to this remote: said at every run, nothing more shipped until a restart. */
  private forked: BriError | null = null;

  constructor(
    readonly remote: RemoteSource,
    private readonly ctx: RemoteShipperContext,
  ) {}

  /** Lines were written: the lag clock starts when the shipper was caught up. */
  noteAppend(now: number, lines: number): void {
    this.appendedSince += lines;
    this.written += lines;
    this.writes.push([this.written, now]);
    if (this.writes.length > 100_000) this.writes.splice(0, 50_000);
  }

  /**
   * The lag from the end line read now. When it cannot be read the lag is not known, and is never said to be
   * less than it was (lines written since count): a failed read is no "caught up". `strict`: the failure is thrown.
   */
  private async measureLag(strict = false): Promise<void> {
    // Lines appended while the end is read count toward the next measure (the end read may not hold them).
    const since = this.appendedSince;
    this.appendedSince = 0;
    let end: number;
    try {
      end = await this.ctx.endLine();
    } catch (err) {
      this.lastLag += since;
      if (strict) throw err;
      return;
    }
    this.lastLag = Math.max(0, end - (this.shippedThrough ?? 0));
    // The oldest unshipped line is `lastLag` lines back from the newest: the first write batch holding it gives its age.
    const firstUnshipped = this.written - this.lastLag;
    while (this.writes.length > 0 && this.writes[0]![0] <= firstUnshipped) this.writes.shift();
    this.unshippedSince = this.lastLag === 0 ? null : (this.writes[0]?.[1] ?? this.unshippedSince);
  }

  status(now = Date.now()): ShippingStatus {
    return {
      source: this.remote.name,
      shippedThrough: this.shippedThrough,
      lagLines: this.lastLag + this.appendedSince,
      lagMs: this.lastLag + this.appendedSince === 0 ? 0 : now - (this.unshippedSince ?? this.writes[0]?.[1] ?? now),
      lastShipmentAt: this.lastShipmentAt,
      shipments: this.shipments,
      failures: this.failures,
      lastError: this.lastError,
      state: this.running ? 'shipping' : this.shippedThrough === null ? 'waiting-for-archive' : now < this.retryAt ? 'backoff' : 'idle',
    };
  }

  /** Ships what is new (one run at a time; a run already going is awaited). */
  tick(force = false): Promise<void> {
    if (this.running) return this.running;
    if (!force && Date.now() < this.retryAt) return Promise.resolve();
    this.running = this.run().finally(() => (this.running = null));
    return this.running;
  }

  /**
   * The highest line the remote holds for the instance, from its shipments (and the base archive).
   * Every put of ours carries last_pointer: an object without it is a put that never completed (a
   * server may show one cut by a kill). It does not count as shipped; while this WAL still holds its
   * lines it is removed (they are shipped again), else the shipper stops and says so.
   */
  private async resume(): Promise<void> {
    const base = await this.ctx.base();
    const refs: ShipmentRef[] = [];
    for await (const o of this.remote.store.list(instancePrefix(this.ctx.instanceId))) {
      const ref = parseShipmentKey(o.key, o.size);
      if (ref && (!base || ref.lastLine > base.line)) refs.push(ref);
    }
    refs.sort((a, b) => b.lastLine - a.lastLine);
    this.shippedThrough = null;
    for (const ref of refs) {
      const pointer = (await this.remote.store.head(ref.key)).metadata.last_pointer;
      if (pointer === undefined) {
        await this.discardUnfinished(ref);
        continue;
      }
      await this.assertHolds(ref.lastLine, pointer);
      this.shippedThrough = ref.lastLine;
      this.lastPointer = pointer;
      break;
    }
    if (this.shippedThrough === null && base) {
      this.shippedThrough = base.line;
      this.lastPointer = base.pointer;
    }
    this.resumed = this.shippedThrough !== null;
  }

  private async discardUnfinished(ref: ShipmentRef): Promise<void> {
    const read = await this.ctx.tail.read(ref.lastLine - 1, 64 * 1024, 1);
    this.ctx.tail.reset();
    if (read === null || read === 'nothing') {
      throw new BriError(ErrorCodes.REMOTE_ERROR, `${ref.key} on ${this.remote.name} has no last_pointer metadata (a put that did not complete, or not written by this shipper), and this WAL no longer holds its lines to ship them again`, {
        hint: 'Check the object; remove it if it is not a complete shipment, or ship to another prefix. Shipping stops until then.',
        details: { key: ref.key },
      });
    }
    await this.remote.store.delete(ref.key);
    this.say({ kind: 'ship-discarded', source: this.remote.name, key: ref.key, reason: 'a put that did not complete (no last_pointer metadata); its lines are shipped again' });
  }

  /**
   * The shipments resumed from must be this directory's own lines: a directory that went back under the
   * same instance (an older copy, lines lost in a crash after they were shipped) would otherwise have
   * its new lines counted as shipped, and WAL cleanup would remove them. Said and not resumed (the
   * shipper then counts as having shipped nothing); a line no longer in wal/ cannot be compared.
   */
  private async assertHolds(line: number, pointer: string): Promise<void> {
    const read = await this.ctx.tail.read(line - 1, 64 * 1024, 1);
    this.ctx.tail.reset();
    const mine = read === 'nothing' ? null : read === null ? pointer : (parseWalLine(read.texts[0] ?? '')?.pointer ?? null);
    if (mine === pointer) return;
    throw new BriError(
      ErrorCodes.ARCHIVE_ERROR,
      `${this.remote.name} holds shipped WAL of this instance through line ${line}, and ${mine === null ? 'this data directory does not reach that line' : `this data directory's line ${line} is another line`}: its history left what was shipped`,
      { hint: 'Nothing more is shipped there, and WAL cleanup keeps these lines. Stop the database, then restore it from the archives (`bri restore latest`), or archive it as a new instance (move bri-archive.json aside while it is stopped).' },
    );
  }

  /** A listener's bug is not a failed shipment, and a run (started from a timer) never rejects because of it. */
  private say(e: ShippingEvent): void {
    try {
      this.ctx.onEvent?.(e);
    } catch {
      // the listener's own error (the archive API says it as a process warning)
    }
  }

  private async run(): Promise<void> {
    try {
      if (this.forked) throw this.forked;
      if (!this.resumed) await this.resume();
      if (this.shippedThrough === null) {
        // The remote answered: an error from before (it was down) no longer says why nothing ships.
        this.failures = 0;
        this.lastError = null;
        this.ctx.onWaiting?.();
        return;
      }
      // An archive on this remote that reaches past the shipments makes them moot up to its end.
      const base = await this.ctx.base();
      if (base && base.line > this.shippedThrough) {
        this.shippedThrough = base.line;
        this.lastPointer = base.pointer;
        this.ctx.tail.reset();
      }
      // One tick ships what was written when it began (one shipment per segment), not what
      // arrives while it ships: under a steady load that would be a stream of tiny objects.
      const target = await this.ctx.endLine();
      // The WAL never shrinks: an end before what was shipped is a directory changed under the database (its state gone).
      if (target < this.shippedThrough) {
        throw new BriError(ErrorCodes.ARCHIVE_ERROR, `the data directory ends at line ${target}, before line ${this.shippedThrough} shipped to ${this.remote.name}: it was changed under the running database (bri-archive.json or wal/ gone)`, {
          hint: 'Nothing more is shipped. Stop the database and check the data directory (`bri data verify`).',
        });
      }
      for (let n = 0; n < 64 && this.shippedThrough < target; n++) {
        const read = await this.ctx.tail.read(this.shippedThrough, this.ctx.maxShipmentBytes, target - this.shippedThrough);
        if (read === 'nothing') break;
        if (read === null) throw new BriError(ErrorCodes.ARCHIVE_ERROR, `line ${this.shippedThrough + 1} left the WAL before it was shipped to ${this.remote.name} or archived there`, { hint: 'Create an archive (it covers those lines); shipping resumes after it.' });
        if (read.prevPointer !== null ? read.prevPointer !== this.lastPointer : !this.continuesShipped(read.texts[0]!)) {
          throw new BriError(ErrorCodes.ARCHIVE_ERROR, `the WAL at line ${read.firstLine} does not continue the pointer shipped to ${this.remote.name} (${this.lastPointer})`, { hint: "Run 'bri data verify'; shipping stops until the chain is right." });
        }
        await this.ship(read.firstLine, read.texts);
      }
      await this.measureLag(true);
      this.failures = 0;
      this.retryAt = 0;
      this.lastError = null;
    } catch (err) {
      const error = this.typed(err);
      this.failures++;
      const { baseMs, maxMs } = this.ctx.backoff;
      const wait = Math.min(maxMs, baseMs * 2 ** Math.min(this.failures - 1, 16)) * (0.5 + Math.random() / 2);
      this.retryAt = Date.now() + wait;
      this.lastError = error.message;
      await this.measureLag();
      this.say({ kind: 'ship-failed', source: this.remote.name, error, retryInMs: Math.round(wait) });
    }
  }

  /**
   * Whether `text` follows the last line shipped. Asked when the line before it is no longer on disk (a
   * cleanup removed its segment): the pointer check would otherwise be skipped just where a misread of
   * the numbering would ship other lines under these numbers.
   */
  private continuesShipped(text: string): boolean {
    return new ChainVerifier(this.lastPointer, this.ctx.key).push({ lineNo: 0, segment: '', segmentLine: 0, text });
  }

  /** A failure as a typed error that names itself: the file system's as IO_ERROR with its path, a remote's as it came. */
  private typed(err: unknown): BriError {
    if (isBriError(err)) return err;
    if (errnoOf(err) !== undefined) return asBriError(err, `shipping to ${this.remote.name}`);
    return new BriError(ErrorCodes.REMOTE_ERROR, `shipping to ${this.remote.name}: ${(err as Error)?.message ?? String(err)}`, { cause: err });
  }

  /**
   * Ships until the remote holds every line through `line` (a run ships a bounded number of shipments).
   * Stops at a failed run, without a base, or when runs stop making progress; the status says how far it got.
   * `final` (shipping stops): a run in progress that fails was the last try, not followed by another one.
   */
  async shipThrough(line: number, final = false): Promise<void> {
    const inProgress = this.running !== null;
    await this.idle();
    if (final && inProgress && this.lastError !== null) return;
    for (let stalls = 0; stalls < 20; ) {
      const before = this.shippedThrough;
      await this.tick(true);
      if (this.lastError !== null || this.shippedThrough === null || this.shippedThrough >= line) return;
      // Lines appended but still in the writer's queue are not on disk yet: give them a moment.
      if (this.shippedThrough === before) await new Promise((r) => setTimeout(r, 5 * ++stalls));
      else stalls = 0;
    }
  }

  private async ship(firstLine: number, texts: string[]): Promise<void> {
    const first = parseWalLine(texts[0]!);
    const last = parseWalLine(texts[texts.length - 1]!);
    if (!first || !last) throw new BriError(ErrorCodes.ARCHIVE_ERROR, `the WAL at line ${firstLine} does not parse; nothing was shipped`, { hint: "Run 'bri data verify'." });
    const header: ShipmentHeader = {
      v: 1,
      instanceId: this.ctx.instanceId,
      firstLine,
      lastLine: firstLine + texts.length - 1,
      prevPointer: this.lastPointer,
      firstPointer: first.pointer,
      lastPointer: last.pointer,
      firstTimestamp: first.timestamp,
      lastTimestamp: last.timestamp,
      linesSha256: linesDigest(texts),
    };
    const body = await this.ctx.encode(header, texts);
    const key = shipmentKey(this.ctx.instanceId, header.firstLine, header.lastLine, body.encrypted);
    try {
      await this.assertNotTaken(key, header);
      await this.remote.store.put(key, { path: body.file }, { size: body.size, sha256: body.sha256, metadata: shipmentMetadata(header, body.recipientsMark), contentType: body.encrypted ? 'application/octet-stream' : 'application/zstd' });
    } finally {
      await body.release();
    }
    await this.assertNoOtherShipper(key, header);
    this.shippedThrough = header.lastLine;
    this.lastPointer = header.lastPointer;
    this.lastShipmentAt = Date.now();
    this.shipments++;
    await this.measureLag();
    this.say({ kind: 'shipped', source: this.remote.name, key, firstLine: header.firstLine, lastLine: header.lastLine, bytes: body.size, lagLines: this.lastLag });
  }

  /**
   * Two processes shipping one instance (a copy of the data directory started beside the original) fork its
   * shipped WAL there, and a restore from the remote then stops at the fork. After each put: another shipment
   * starting at the same line is another shipper (so is the key holding other lines before the put: then
   * nothing is put over it). This one's shipment is removed and it ships nothing more; the lines stay in wal/.
   */
  private async assertNoOtherShipper(key: string, header: ShipmentHeader): Promise<void> {
    const others: string[] = [];
    for await (const o of this.remote.store.list(shipmentsFromPrefix(this.ctx.instanceId, header.firstLine))) {
      if (o.key !== key && parseShipmentKey(o.key, o.size)) others.push(o.key);
    }
    if (others.length === 0) return;
    await this.remote.store.delete(key).catch(() => undefined);
    throw this.otherShipper(others[0]!, header.firstLine);
  }

  /** The key about to be put holds other lines already (put there by another shipper): it is not put over. */
  private async assertNotTaken(key: string, header: ShipmentHeader): Promise<void> {
    const there = await this.remote.store.head(key).catch((err: unknown) => {
      if (isMissingObject(err)) return null;
      throw err;
    });
    const pointer = there?.metadata.last_pointer;
    if (there === null || pointer === undefined || pointer === header.lastPointer) return;
    throw this.otherShipper(key, header.firstLine);
  }

  private otherShipper(object: string, firstLine: number): BriError {
    this.forked = new BriError(ErrorCodes.ARCHIVE_ERROR, `another process ships this instance to ${this.remote.name}: ${object} holds other lines from line ${firstLine} (a copy of this data directory running elsewhere?)`, {
      hint: 'Nothing more is shipped from here, and the lines stay in wal/. Stop the copy that should not run; if it is this one, move its bri-archive.json aside while it is stopped (it then archives as a new instance).',
      details: { remote: this.remote.name, firstLine, object },
    });
    return this.forked;
  }

  /** Waits for a run in progress. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}

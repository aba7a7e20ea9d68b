/**
 * Benchmark child: a database under a steady write load, with or without archiving.
 *
 * Opens a fresh data directory with createDB() and issues `db.set()` at a fixed target
 * rate for a fixed time, open loop: write i is due at t0 + i/rate and is started then
 * (from a 1 ms timer), without waiting for the writes before it, so that its latency,
 * from its due time to its acknowledgement, includes any queueing (a late timer, a busy
 * event loop, a write batch that waits). At most `--max-inflight` writes are
 * outstanding; a due write beyond that starts when a slot frees, still timed from its due
 * time. Due writes not started when the time is up are counted as `notStarted`.
 *
 * With `--every N` (> 0) the archive triggers are `{ walEntries: N }` with
 * `cleanupWal: true`; with `--every 0` there are no triggers (no archiving at all).
 * Either way `compression: { level: 3 }`; error correction (PAR2) is left at its default.
 *
 * Continuous WAL shipping (the shipping bench): `--remotes JSON` (an array of remote
 * configs) adds `archive.remotes`, and `--interval N` (> 0, with remotes) adds
 * `continuous: { enabled: true, intervalMs: N }`. Then `db.archive.shippingStatus()` is
 * sampled every `--sample-ms` (default 100) during the load, the 'shipping' events are
 * counted per remote, and after the last acknowledgement `flushShipping()` is timed before
 * close; the result has a `shipping` block. `--archive-first 1` writes one line (`BASE`) and
 * makes an archive before the load starts (a restore needs one). `--print-acks 1` prints
 * `READY <epoch ms>` at t0, `ACK <i> <epoch ms>` for each acknowledged write i and
 * `SHIPPED <remote> <firstLine> <lastLine> <bytes> <epoch ms>` for each shipment (epoch ms
 * with 3 decimals, `performance.timeOrigin + performance.now()`), for a parent that
 * SIGKILLs it. Without these flags the child behaves as before.
 *
 * Usage: archiving-load.ts --dir D --rate 5000 --seconds 20 --every 20000
 *        [--max-inflight 2000] [--keys 50000] [--seed 1]
 *        [--remotes JSON --interval 1000 [--sample-ms 100]] [--archive-first 1] [--print-acks 1]
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createDB } from '../../src/db.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';
import { createRng } from '../lib/workload.js';

const WORDS = [
  'archive', 'segment', 'journal', 'replica', 'harbor', 'lantern', 'quartz', 'meadow', 'cobalt', 'ember',
  'falcon', 'glacier', 'hollow', 'indigo', 'juniper', 'kestrel', 'lumen', 'marble', 'nectar', 'orchid',
  'pepper', 'quiver', 'raven', 'saffron', 'tundra', 'umber', 'velvet', 'willow', 'xenon', 'yarrow',
  'zephyr', 'amber', 'basalt', 'cedar', 'delta', 'elm', 'fjord', 'garnet', 'heron', 'iris',
];

/** About 200 bytes of text from the rng: words, a number now and then (compresses like prose, not like a repeated string). */
function payloadFrom(rng: () => number, target: number): string {
  let s = '';
  while (s.length < target) {
    const r = rng();
    s += r < 0.15 ? `${Math.floor(r * 1e9)} ` : `${WORDS[Math.floor(rng() * WORDS.length)]!} `;
  }
  return s.slice(0, target);
}

/** Bytes of the regular files directly in `dir` (0 when it does not exist). */
async function dirBytes(dir: string): Promise<{ bytes: number; files: number }> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return { bytes: 0, files: 0 };
  }
  let bytes = 0;
  let files = 0;
  for (const n of names) {
    const st = await fsp.stat(path.join(dir, n)).catch(() => null);
    if (st?.isFile()) {
      bytes += st.size;
      files++;
    }
  }
  return { bytes, files };
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank]!;
}

export interface ArchiveRecord {
  reason: string;
  /** ms since t0 when the run started and finished. */
  startMs: number;
  endMs: number;
  archiveId: string;
  bytes: number;
  lines: number | null;
  cleanupSegments: number | null;
  cleanupLines: number | null;
  cleanupError?: string;
}

/** Per remote, with continuous shipping: the lag sampled during the load, the shipments made. */
export interface ShippingSourceFigures {
  source: string;
  samples: number;
  lagMs: { mean: number; p99: number; max: number };
  lagLines: { mean: number; p99: number; max: number };
  /** Every sample: ms since t0, lagMs, lagLines. */
  series: { tMs: number[]; lagMs: number[]; lagLines: number[] };
  /** 'shipped' events up to the last acknowledgement of the load. */
  shipmentsDuringLoad: number;
  bytesDuringLoad: number;
  /** Of those shipments: median lines in one, median and max ms from one to the next. */
  linesPerShipmentMedian: number;
  gapMsMedian: number;
  gapMsMax: number;
  /** 'shipped' events in all (the load, flushShipping() and close). */
  shipments: number;
  bytes: number;
  lines: number;
  failures: number;
  firstFailure?: string;
  /** shippingStatus() right after flushShipping(). */
  afterFlush: { shippedThrough: number | null; lagLines: number; lagMs: number; state: string; lastError: string | null } | null;
}

export interface ShippingFigures {
  intervalMs: number;
  sampleMs: number;
  /** Lines written before t0 (`--archive-first`: the BASE line). */
  preloadLines: number;
  archiveFirstMs: number | null;
  /** The store's last line when flushShipping() was called (after the load). */
  linesAtFlush: number;
  flushMs: number;
  sources: ShippingSourceFigures[];
}

/** Mean, nearest-rank p99 and max of a list (NaN when empty). */
function summary(values: number[]): { mean: number; p99: number; max: number } {
  if (values.length === 0) return { mean: NaN, p99: NaN, max: NaN };
  const sorted = Float64Array.from(values).sort();
  return { mean: values.reduce((a, b) => a + b, 0) / values.length, p99: quantile(sorted, 0.99), max: sorted[sorted.length - 1]! };
}

runChildMain(async () => {
  const args = childArgs();
  const dataDir = requireArg(args, 'dir');
  const rate = Number(requireArg(args, 'rate'));
  const seconds = Number(requireArg(args, 'seconds'));
  const every = Number(args.get('every') ?? 0);
  const maxInFlight = Number(args.get('max-inflight') ?? 2000);
  const keys = Number(args.get('keys') ?? 50_000);
  const seed = Number(args.get('seed') ?? 1);
  const remotes = args.has('remotes') ? (JSON.parse(requireArg(args, 'remotes')) as unknown[]) : [];
  if (!Array.isArray(remotes)) throw new Error('--remotes must be a JSON array of remote configs');
  const shipIntervalMs = Number(args.get('interval') ?? 0);
  const shipping = remotes.length > 0 && shipIntervalMs > 0;
  if (shipIntervalMs > 0 && remotes.length === 0) throw new Error('--interval needs --remotes');
  const sampleMs = Number(args.get('sample-ms') ?? 100);
  const archiveFirst = args.get('archive-first') === '1';
  const printAcks = args.get('print-acks') === '1';
  for (const [name, v] of [['rate', rate], ['seconds', seconds], ['max-inflight', maxInFlight], ['keys', keys]] as const) {
    if (!(v > 0) || !Number.isFinite(v)) throw new Error(`--${name} must be positive, got ${v}`);
  }
  const archiving = every > 0;

  const tOpen = performance.now();
  const db = await createDB({
    storeConfig: {
      dataDir,
      fsyncMode: 'batched',
      batchIntervalMs: 10,
      walSegmentSize: 1 << 20,
      snapshotOnClose: false,
      archive: {
        ...(archiving ? { triggers: { walEntries: every }, compression: { level: 3 }, cleanupWal: true } : { compression: { level: 3 } }),
        ...(remotes.length > 0 ? { remotes } : {}),
        ...(shipping ? { continuous: { enabled: true, intervalMs: shipIntervalMs } } : {}),
      },
    },
  });
  const openMs = performance.now() - tOpen;

  let preloadLines = 0;
  let archiveFirstMs: number | null = null;
  if (archiveFirst) {
    const tArchive = performance.now();
    await db.set('BASE', { base: true });
    preloadLines = 1;
    await db.archive.create();
    archiveFirstMs = performance.now() - tArchive;
  }

  const t0n = process.hrtime.bigint();
  /** ns since t0, as a number (exact below 2^53 ns, about 104 days). */
  const nowNs = (): number => Number(process.hrtime.bigint() - t0n);
  /** t0 on the wall clock, ms since the epoch (for `--print-acks`: the parent compares with its own clock). */
  const epochT0 = performance.timeOrigin + performance.now();
  const say = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };

  // Continuous shipping: the events per remote, and the status sampled during the load.
  let loadRunning = true;
  const shipBySource = new Map<
    string,
    { shipments: number; bytes: number; lines: number; shipmentsDuringLoad: number; bytesDuringLoad: number; atMs: number[]; linesEach: number[]; failures: number; firstFailure?: string }
  >();
  const shipEntry = (source: string) => {
    let e = shipBySource.get(source);
    if (!e) shipBySource.set(source, (e = { shipments: 0, bytes: 0, lines: 0, shipmentsDuringLoad: 0, bytesDuringLoad: 0, atMs: [], linesEach: [], failures: 0 }));
    return e;
  };
  const lagSamples = new Map<string, { tMs: number[]; lagMs: number[]; lagLines: number[] }>();
  let lagSampler: NodeJS.Timeout | null = null;
  if (shipping) {
    db.archive.on('shipping', (e) => {
      const s = shipEntry(e.source);
      if (e.kind === 'shipped') {
        s.shipments++;
        s.bytes += e.bytes;
        s.lines += e.lastLine - e.firstLine + 1;
        if (loadRunning) {
          s.shipmentsDuringLoad++;
          s.bytesDuringLoad += e.bytes;
          s.atMs.push(nowNs() / 1e6);
          s.linesEach.push(e.lastLine - e.firstLine + 1);
        }
        if (printAcks) say(`SHIPPED ${e.source} ${e.firstLine} ${e.lastLine} ${e.bytes} ${(performance.timeOrigin + performance.now()).toFixed(3)}`);
      } else if (e.kind === 'ship-failed') {
        s.failures++;
        s.firstFailure ??= e.error.message;
      }
    });
    lagSampler = setInterval(() => {
      const tMs = nowNs() / 1e6;
      for (const st of db.archive.shippingStatus()) {
        let l = lagSamples.get(st.source);
        if (!l) lagSamples.set(st.source, (l = { tMs: [], lagMs: [], lagLines: [] }));
        l.tMs.push(Math.round(tMs));
        l.lagMs.push(st.lagMs);
        l.lagLines.push(st.lagLines);
      }
    }, sampleMs);
  }
  if (printAcks) say(`READY ${epochT0.toFixed(3)}`);

  const archives: ArchiveRecord[] = [];
  const failures: Array<{ reason: string; atMs: number; error: string }> = [];
  let skipped = 0;
  let runStartedMs = 0;
  db.archive.on('started', () => {
    runStartedMs = nowNs() / 1e6;
  });
  db.archive.on('finished', (r) => {
    const c = r.cleanup;
    const cleanupOk = c !== undefined && !('error' in c) ? c : undefined;
    archives.push({
      reason: r.reason,
      startMs: runStartedMs,
      endMs: nowNs() / 1e6,
      archiveId: r.archiveId,
      bytes: r.bytes,
      lines: r.manifest.contents.totalWalEntries,
      cleanupSegments: cleanupOk ? cleanupOk.segments.length : null,
      cleanupLines: cleanupOk ? cleanupOk.lines : null,
      ...(c !== undefined && 'error' in c ? { cleanupError: c.error.message } : {}),
    });
  });
  db.archive.on('skipped', () => {
    skipped++;
  });
  db.archive.on('failed', (e) => {
    failures.push({ reason: e.reason, atMs: nowNs() / 1e6, error: (e.error as Error)?.message ?? String(e.error) });
  });

  const walDir = path.join(dataDir, 'wal');
  let walPeakBytes = 0;
  let walPeakFiles = 0;
  let sampling = false;
  const sampler = setInterval(() => {
    if (sampling) return;
    sampling = true;
    void dirBytes(walDir)
      .then((w) => {
        walPeakBytes = Math.max(walPeakBytes, w.bytes);
        walPeakFiles = Math.max(walPeakFiles, w.files);
      })
      .finally(() => {
        sampling = false;
      });
  }, 500);
  sampler.unref();

  const LOOP_RESOLUTION_MS = 10;
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const lateMs = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);
  loopDelay.enable();

  const rng = createRng(seed);
  const scheduled = Math.floor(rate * seconds);
  const intervalNs = 1e9 / rate;
  const durationNs = seconds * 1e9;
  const latMs = new Float64Array(scheduled);
  /** Acks and the worst latency per second of the schedule (by ack time). */
  const perSecondAcks = new Array<number>(Math.ceil(seconds) + 1).fill(0);
  const perSecondMaxMs = new Array<number>(Math.ceil(seconds) + 1).fill(0);
  let started = 0;
  let acked = 0;
  let errors = 0;
  let firstError: string | undefined;
  let inFlight = 0;
  let maxInFlightSeen = 0;
  let deferredByCap = 0;
  let lastAckNs = 0;
  let drained: (() => void) | null = null;

  const startWrite = (i: number): void => {
    const dueNs = i * intervalNs;
    const value = { i, payload: payloadFrom(rng, 200) };
    inFlight++;
    if (inFlight > maxInFlightSeen) maxInFlightSeen = inFlight;
    db.set(`ITEM_${(i % keys).toString(36)}`, value).then(
      () => {
        const t = nowNs();
        const ms = (t - dueNs) / 1e6;
        latMs[acked++] = ms;
        lastAckNs = t;
        const sec = Math.min(perSecondAcks.length - 1, Math.floor(t / 1e9));
        perSecondAcks[sec]!++;
        if (ms > perSecondMaxMs[sec]!) perSecondMaxMs[sec] = ms;
        if (printAcks) say(`ACK ${i} ${(epochT0 + t / 1e6).toFixed(3)}`);
        if (--inFlight === 0) drained?.();
      },
      (err: unknown) => {
        errors++;
        firstError ??= (err as Error)?.message ?? String(err);
        if (--inFlight === 0) drained?.();
      },
    );
  };

  // The generator: every ~1 ms, start each write that is due by now (up to the in-flight cap).
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const t = nowNs();
      const dueCount = t >= durationNs ? scheduled : Math.min(scheduled, Math.floor(t / intervalNs) + 1);
      while (started < dueCount && inFlight < maxInFlight) startWrite(started++);
      if (started < dueCount) deferredByCap++;
      if (t >= durationNs) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  const scheduleEndNs = nowNs();
  // Due writes never started within the time: the database did not keep up with the rate.
  const notStarted = scheduled - started;
  if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
  const drainedNs = nowNs();
  loopDelay.disable();
  clearInterval(sampler);
  loadRunning = false;
  if (lagSampler !== null) clearInterval(lagSampler);

  const walEnd = await dirBytes(walDir);
  walPeakBytes = Math.max(walPeakBytes, walEnd.bytes);
  walPeakFiles = Math.max(walPeakFiles, walEnd.files);
  const archivingAtEnd = archives.length + failures.length + skipped;
  let linesAtFlush = 0;
  let flushMs = 0;
  let statusAfterFlush: ReturnType<typeof db.archive.shippingStatus> = [];
  if (shipping) {
    linesAtFlush = db.info().totalLines;
    const tFlush = performance.now();
    await db.archive.flushShipping();
    flushMs = performance.now() - tFlush;
    statusAfterFlush = db.archive.shippingStatus();
  }
  const tClose = performance.now();
  await db.close();
  const closeMs = performance.now() - tClose;
  // After close: an archive that was running when the writes ended has finished (close waits for it), with its cleanup.
  const info = db.info();
  const walAfterClose = await dirBytes(walDir);
  const archivesDir = await dirBytes(path.join(dataDir, 'archives'));

  const sorted = latMs.slice(0, acked).sort();
  const wallS = (lastAckNs > 0 ? lastAckNs : drainedNs) / 1e9;
  const cleanedLines = archives.reduce((a, r) => a + (r.cleanupLines ?? 0), 0);
  reportResult({
    archiving,
    every,
    rate,
    seconds,
    maxInFlight,
    keys,
    scheduled,
    started,
    acked,
    errors,
    ...(firstError !== undefined ? { firstError } : {}),
    notStarted,
    deferredTicks: deferredByCap,
    maxInFlightSeen,
    /** From t0 to the last acknowledgement. */
    wallS,
    scheduleEndS: scheduleEndNs / 1e9,
    drainedS: drainedNs / 1e9,
    throughput: wallS > 0 ? acked / wallS : 0,
    latencyMs: {
      p50: quantile(sorted, 0.5),
      p90: quantile(sorted, 0.9),
      p99: quantile(sorted, 0.99),
      p999: quantile(sorted, 0.999),
      max: sorted.length > 0 ? sorted[sorted.length - 1]! : NaN,
      mean: sorted.length > 0 ? sorted.reduce((a, b) => a + b, 0) / sorted.length : NaN,
    },
    /** How late the 10 ms sampling timer fired (the histogram holds whole intervals: the resolution is taken off). */
    eventLoopDelayMs: { p50: lateMs(loopDelay.percentile(50)), p99: lateMs(loopDelay.percentile(99)), max: lateMs(loopDelay.max) },
    perSecondAcks,
    perSecondMaxMs,
    archives,
    archivesMade: archives.length,
    archiveFailures: failures,
    archivesSkipped: skipped,
    archiveEventsBeforeClose: archivingAtEnd,
    archiveBytes: archives.reduce((a, r) => a + r.bytes, 0),
    archivesDirBytes: archivesDir.bytes,
    walEndBytes: walEnd.bytes,
    walEndFiles: walEnd.files,
    walAfterCloseBytes: walAfterClose.bytes,
    walAfterCloseFiles: walAfterClose.files,
    walPeakBytes,
    walPeakFiles,
    /** The store's line count after close, plus the lines WAL cleanup removed: must equal the acked writes. */
    totalLines: info.totalLines,
    cleanedLines,
    documents: info.documents,
    openMs,
    closeMs,
    ...(shipping
      ? {
          shipping: {
            intervalMs: shipIntervalMs,
            sampleMs,
            preloadLines,
            archiveFirstMs,
            linesAtFlush,
            flushMs,
            sources: statusAfterFlush.map((st): ShippingSourceFigures => {
              const l = lagSamples.get(st.source) ?? { tMs: [], lagMs: [], lagLines: [] };
              const e = shipEntry(st.source);
              const gaps = e.atMs.slice(1).map((t, k) => t - e.atMs[k]!);
              return {
                source: st.source,
                samples: l.lagMs.length,
                lagMs: summary(l.lagMs),
                lagLines: summary(l.lagLines),
                series: l,
                shipmentsDuringLoad: e.shipmentsDuringLoad,
                bytesDuringLoad: e.bytesDuringLoad,
                linesPerShipmentMedian: quantile(Float64Array.from(e.linesEach).sort(), 0.5),
                gapMsMedian: quantile(Float64Array.from(gaps).sort(), 0.5),
                gapMsMax: gaps.length > 0 ? Math.max(...gaps) : NaN,
                shipments: e.shipments,
                bytes: e.bytes,
                lines: e.lines,
                failures: e.failures,
                ...(e.firstFailure !== undefined ? { firstFailure: e.firstFailure } : {}),
                afterFlush: { shippedThrough: st.shippedThrough, lagLines: st.lagLines, lagMs: st.lagMs, state: st.state, lastError: st.lastError },
              };
            }),
          } satisfies ShippingFigures,
        }
      : {}),
    cpuUserMs: process.resourceUsage().userCPUTime / 1000,
    cpuSystemMs: process.resourceUsage().systemCPUTime / 1000,
  });
});

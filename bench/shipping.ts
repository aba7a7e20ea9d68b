/**
 * The shipping benchmark: continuous WAL shipping under a steady write load.
 *
 * 1. Write cost: the archiving bench's open-loop load (`children/archiving-load.ts`), once
 *    without shipping (no remotes at all) and once shipping to two remotes (a local
 *    directory, `nas`, and s3rver, `s3`) every `--interval` ms, at the same target rate for
 *    the same time. Prints throughput, p50, p99, p99.9, max latency, peak RSS and CPU,
 *    without / with / with÷without.
 * 2. Lag: in the run with shipping, `db.archive.shippingStatus()` sampled every 100 ms during
 *    the load; per remote the mean, p99 and max of `lagMs` and `lagLines`, the shipments made
 *    and the bytes shipped, and how long `flushShipping()` takes after the last write.
 * 3. Loss window: a writer (the same child, `--print-acks`) at a steady rate (default 1,000
 *    writes/s) shipping to s3 only, with one archive made first (a restore starts from an
 *    archive), prints each acknowledgement's time; this process SIGKILLs it N s after it
 *    started writing (plus a random 0..interval ms, so that the kill falls anywhere between
 *    two shipments), leaves its data directory alone, restores from s3 alone into a new
 *    directory (`openRestore({ dataDir: target, config: { remotes: [s3] } }).fromLatest()`),
 *    recovers it (`recover`) and looks for every acknowledged write. The loss window is the
 *    kill time minus the acknowledgement time of the oldest acknowledged write missing from
 *    the restore (0 when none is missing). Repeated; each run and the max are printed next to
 *    the configured interval.
 *
 * Writes JSON to .bench/shipping.json.
 *
 * Run: `npm run bench -- --only shipping [--quick] [--rate N] [--seconds N] [--interval N]
 *      [--kill-after N] [--kill-runs N] [--kill-rate N] [--max-inflight N] [--keys N]`,
 *      or `tsx bench/shipping.ts [same flags]`.
 * Defaults: 5,000 writes/s for 20 s, interval 1,000 ms, 3 kill runs at 1,000 writes/s killed
 * after 8 s; --quick: 6 s, 1 kill run after 4 s.
 * Environment: BENCH_TMP (where data dirs go), BENCH_KEEP=1 (keep them), BENCH_NODE_FLAGS.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openRestore } from '../src/archive/restore-api.js';
import type { RemoteConfig } from '../src/remote/registry.js';
import { recover } from '../src/store/recovery.js';
import { S3RVER_CREDENTIALS, startS3rver, type S3rverServer } from '../test/support/servers/s3rver.js';
import type { LoadChildResult } from './archiving.js';
import type { ShippingFigures } from './children/archiving-load.js';
import { benchRoot, hasGnuTime, machineInfo, childCommand, runNodeChild, siblingPath, type MachineInfo } from './lib/measure.js';
import { fmtBytes, fmtInt, fmtMs, formatTable } from './lib/table.js';
import { loadRunLine, withWithoutTable } from './lib/with-without.js';
import { flag, positiveInt } from './lib/args.js';

export const DEFAULT_RATE = 5000;
export const DEFAULT_SECONDS = 20;
export const QUICK_SECONDS = 6;
export const DEFAULT_INTERVAL_MS = 1000;
export const DEFAULT_KILL_AFTER_S = 8;
export const QUICK_KILL_AFTER_S = 4;
export const DEFAULT_KILL_RUNS = 3;
export const QUICK_KILL_RUNS = 1;
export const DEFAULT_KILL_RATE = 1000;
const DEFAULT_MAX_IN_FLIGHT = 2000;
const DEFAULT_KEYS = 50_000;
const SAMPLE_MS = 100;
const BUCKET = 'bri-bench-ship';
const LOAD_CHILD = siblingPath(import.meta.url, 'children', 'archiving-load.ts');

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = path.join(REPO_ROOT, '.bench', 'shipping.json');

export interface ShippingBenchOptions {
  /** Shorter load (6 s) and one kill run after 4 s. */
  quick?: boolean;
  /** Command line: `--rate`, `--seconds`, `--interval`, `--kill-after`, `--kill-runs`, `--kill-rate`, `--max-inflight`, `--keys`. */
  argv?: readonly string[];
  log?: (line: string) => void;
}

type ResolvedOptions = {
  rate: number;
  seconds: number;
  intervalMs: number;
  killAfterS: number;
  killRuns: number;
  killRate: number;
  maxInFlight: number;
  keys: number;
  quick: boolean;
};

/** What the load child reports, with its shipping block in the run with shipping. */
export type ShippingLoadResult = LoadChildResult & { shipping?: ShippingFigures };

export interface ShippingLoadFigures extends ShippingLoadResult {
  childWallMs: number;
  peakRssKb: number | null;
  rssSource: string;
  loadavgBefore: number[];
  loadavgAfter: number[];
  problems: string[];
}

export interface LossWindowRun {
  run: number;
  /** ms after the writer's t0 (its READY line) when it was killed: planned, and as it happened. */
  killAfterMs: number;
  killedAfterMs: number;
  acked: number;
  /** Acknowledged writes not in the restore. */
  lost: number;
  /** Kill time − ack time of the oldest acknowledged write missing from the restore (0: none missing). */
  lossWindowMs: number;
  /** Kill time − ack time of the newest acknowledged write (how close to the kill the last ack came). */
  lastAckBeforeKillMs: number | null;
  /** Kill time − time of the last 'shipped' event the writer printed. */
  lastShipmentBeforeKillMs: number | null;
  shipmentsBeforeKill: number;
  /** Of those: median lines in one, median and max ms from one to the next. */
  linesPerShipmentMedian: number | null;
  shipmentGapMsMedian: number | null;
  shipmentGapMsMax: number | null;
  /** Acknowledged writes missing although a later write is restored (a gap: must be 0). */
  holes: number;
  /** Writes in the restore that the writer had not printed as acknowledged (acked between its last print and the kill, or in flight). */
  restoredUnacked: number;
  restore: { ms: number; source: string; linesRestored: number; shippedLines: number | null; shippedThrough: number | null; broken: string | null; documents: number };
  problems: string[];
}

export interface ShippingBenchResult {
  startedAt: string;
  machine: MachineInfo;
  options: ResolvedOptions;
  without: ShippingLoadFigures | { error: string };
  with: ShippingLoadFigures | { error: string };
  ratios: Record<string, number | null>;
  lossWindow: { intervalMs: number; runs: Array<LossWindowRun | { run: number; error: string }>; maxMs: number | null };
}

function resolveOptions(opts: ShippingBenchOptions): ResolvedOptions {
  const argv = opts.argv ?? [];
  const quick = opts.quick ?? argv.includes('--quick');
  return {
    rate: positiveInt(flag(argv, 'rate'), '--rate') ?? DEFAULT_RATE,
    seconds: positiveInt(flag(argv, 'seconds'), '--seconds') ?? (quick ? QUICK_SECONDS : DEFAULT_SECONDS),
    intervalMs: positiveInt(flag(argv, 'interval'), '--interval') ?? DEFAULT_INTERVAL_MS,
    killAfterS: positiveInt(flag(argv, 'kill-after'), '--kill-after') ?? (quick ? QUICK_KILL_AFTER_S : DEFAULT_KILL_AFTER_S),
    killRuns: positiveInt(flag(argv, 'kill-runs'), '--kill-runs') ?? (quick ? QUICK_KILL_RUNS : DEFAULT_KILL_RUNS),
    killRate: positiveInt(flag(argv, 'kill-rate'), '--kill-rate') ?? DEFAULT_KILL_RATE,
    maxInFlight: positiveInt(flag(argv, 'max-inflight'), '--max-inflight') ?? DEFAULT_MAX_IN_FLIGHT,
    keys: positiveInt(flag(argv, 'keys'), '--keys') ?? DEFAULT_KEYS,
    quick,
  };
}

const isRun = <T extends object>(r: T | { error: string }): r is T => !('error' in r);

const errorText = (err: unknown): string => (err as Error)?.message ?? String(err);

/** The wall clock in ms since the epoch, sub-ms (the writer child stamps its acks the same way). */
const epochNow = (): number => performance.timeOrigin + performance.now();

function s3Remote(endpoint: string, prefix: string): RemoteConfig {
  return { provider: 's3', name: 's3', bucket: BUCKET, prefix, endpoint, region: 'us-east-1', credentials: { ...S3RVER_CREDENTIALS }, forcePathStyle: true };
}

/** Checks that a load run's figures mean what the tables say. */
function problemsOf(r: ShippingLoadResult, shipping: boolean): string[] {
  const out: string[] = [];
  if (r.errors > 0) out.push(`${fmtInt(r.errors)} write(s) failed (first: ${r.firstError ?? '?'})`);
  if (r.notStarted > 0) out.push(`${fmtInt(r.notStarted)} due write(s) never started within ${r.seconds} s: the database did not keep up with ${fmtInt(r.rate)}/s`);
  if (r.totalLines !== r.acked) out.push(`the store counts ${fmtInt(r.totalLines)} lines, but ${fmtInt(r.acked)} writes were acknowledged`);
  if (!shipping) return out;
  const s = r.shipping;
  if (!s) return [...out, 'shipping was on but the child reported no shipping figures'];
  if (s.sources.length !== 2) out.push(`shippingStatus() lists ${s.sources.length} remote(s), not 2`);
  for (const src of s.sources) {
    if (src.failures > 0) out.push(`${src.source}: ${src.failures} shipment(s) failed (first: ${src.firstFailure ?? '?'})`);
    if (src.shipments === 0) out.push(`${src.source}: nothing was shipped`);
    const a = src.afterFlush;
    if (a && (a.lagLines !== 0 || a.shippedThrough !== s.linesAtFlush))
      out.push(`${src.source}: after flushShipping() shippedThrough is ${a.shippedThrough ?? 'null'} with ${fmtInt(a.lagLines)} line(s) of lag, the WAL ends at line ${fmtInt(s.linesAtFlush)}${a.lastError ? ` (last error: ${a.lastError})` : ''}`);
    if (src.lines !== s.linesAtFlush) out.push(`${src.source}: the shipments hold ${fmtInt(src.lines)} lines, the WAL ${fmtInt(s.linesAtFlush)}`);
  }
  return out;
}

async function runLoad(root: string, label: 'without' | 'with', o: ResolvedOptions, s3: S3rverServer | null, log: (s: string) => void): Promise<ShippingLoadFigures> {
  const dataDir = path.join(root, label);
  const args = ['--dir', dataDir, '--rate', String(o.rate), '--seconds', String(o.seconds), '--every', '0', '--max-inflight', String(o.maxInFlight), '--keys', String(o.keys)];
  if (label === 'with') {
    if (!s3) throw new Error('s3rver is not running');
    const nas = path.join(root, 'nas');
    fs.mkdirSync(nas, { recursive: true });
    const remotes: RemoteConfig[] = [{ provider: 'local', name: 'nas', path: nas }, s3Remote(s3.endpoint, 'load')];
    args.push('--remotes', JSON.stringify(remotes), '--interval', String(o.intervalMs), '--sample-ms', String(SAMPLE_MS));
  }
  const loadavgBefore = os.loadavg();
  // The run, plus flush and close, plus generous slack.
  const child = await runNodeChild<ShippingLoadResult>(LOAD_CHILD, args, { timeoutMs: o.seconds * 1000 + 10 * 60 * 1000 });
  const r = child.result;
  const figures: ShippingLoadFigures = {
    ...r,
    childWallMs: child.wallMs,
    peakRssKb: child.peakRssKb,
    rssSource: child.rssSource,
    loadavgBefore,
    loadavgAfter: os.loadavg(),
    problems: problemsOf(r, label === 'with'),
  };
  log(loadRunLine(`${label} shipping`, r, child, loadavgBefore));
  for (const p of figures.problems) log(`  ${label}: PROBLEM: ${p}`);
  return figures;
}

interface WriterOutput {
  readyAt: number;
  killedAt: number;
  acks: Map<number, number>;
  shipments: Array<{ source: string; first: number; last: number; bytes: number; at: number }>;
  stderr: string;
}

/** Starts the writer, SIGKILLs it `killAfterMs` after its READY, and collects what it printed. */
async function runKilledWriter(args: readonly string[], killAfterMs: number, startTimeoutMs: number): Promise<WriterOutput> {
  const envFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter((s) => s !== '');
  const child = spawn(process.execPath, [...envFlags, ...childCommand(LOAD_CHILD), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out: WriterOutput = { readyAt: 0, killedAt: 0, acks: new Map(), shipments: [], stderr: '' };
  let pending = '';
  let killTimer: NodeJS.Timeout | null = null;
  const onLine = (line: string): void => {
    const [w, a, b, c, d, e] = line.split(' ');
    if (w === 'ACK') out.acks.set(Number(a), Number(b));
    else if (w === 'SHIPPED') out.shipments.push({ source: a!, first: Number(b), last: Number(c), bytes: Number(d), at: Number(e) });
    else if (w === 'READY') {
      out.readyAt = Number(a);
      killTimer = setTimeout(() => {
        child.kill('SIGKILL');
        // Stamped once kill() has returned: no acknowledgement can come later (but for the two clocks' origins, well under 1 ms apart).
        out.killedAt = epochNow();
      }, killAfterMs);
    }
  };
  child.stdout.on('data', (b: Buffer) => {
    pending += b.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const l of lines) onLine(l);
  });
  child.stderr.on('data', (b: Buffer) => {
    out.stderr = (out.stderr + b.toString('utf8')).slice(-8000);
  });
  // A writer that never gets to READY (open + first archive) is killed too, and reported.
  const startTimer = setTimeout(() => {
    if (out.readyAt === 0) child.kill('SIGKILL');
  }, startTimeoutMs);
  const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(startTimer);
  if (killTimer !== null) clearTimeout(killTimer);
  if (pending !== '') onLine(pending);
  if (out.readyAt === 0) throw new Error(`the writer never got ready (exit ${exit.code ?? exit.signal}):\n${out.stderr.trim().split('\n').slice(-15).join('\n')}`);
  if (out.killedAt === 0 || exit.signal !== 'SIGKILL') throw new Error(`the writer ended before the kill (exit ${exit.code ?? exit.signal}):\n${out.stderr.trim().split('\n').slice(-15).join('\n')}`);
  return out;
}

/** ITEM_<i in base 36>: the writer's key for write i when `--keys` exceeds the writes (archiving-load.ts). */
const writerKey = (i: number): string => `ITEM_${i.toString(36)}`;

async function runLossWindow(root: string, run: number, o: ResolvedOptions, s3: S3rverServer, log: (s: string) => void): Promise<LossWindowRun> {
  const dataDir = path.join(root, `kill-${run}`);
  const target = path.join(root, `kill-${run}-restored`);
  const remote = s3Remote(s3.endpoint, `kill-${run}`);
  // Long enough never to end on its own: the kill comes first.
  const seconds = o.killAfterS + 600;
  // A random phase against the shipping timer: the kill lands anywhere between two shipments.
  const killAfterMs = o.killAfterS * 1000 + Math.floor(Math.random() * o.intervalMs);
  const args = [
    '--dir', dataDir,
    '--rate', String(o.killRate),
    '--seconds', String(seconds),
    '--every', '0',
    '--max-inflight', String(o.maxInFlight),
    // More keys than writes: every write has its own key, ITEM_<i>.
    '--keys', String(o.killRate * seconds),
    '--remotes', JSON.stringify([remote]),
    '--interval', String(o.intervalMs),
    '--archive-first', '1',
    '--print-acks', '1',
  ];
  const w = await runKilledWriter(args, killAfterMs, 5 * 60 * 1000);
  const tRestore = performance.now();
  const api = openRestore({ dataDir: target, config: { remotes: [remote] } });
  let restored;
  try {
    restored = await api.fromLatest();
  } finally {
    await api.close();
  }
  const restoreMs = performance.now() - tRestore;
  const docs = (await recover(target)).state.documents;

  let lost = 0;
  let oldestLostAt = Infinity;
  let oldestLostI = Infinity;
  let newestAckAt = -Infinity;
  for (const [i, at] of w.acks) {
    newestAckAt = Math.max(newestAckAt, at);
    if (docs.has(writerKey(i))) continue;
    lost++;
    if (at < oldestLostAt) oldestLostAt = at;
    if (i < oldestLostI) oldestLostI = i;
  }
  // The WAL is shipped in order: whatever is missing must come after everything restored.
  let newestRestoredI = -1;
  let restoredUnacked = 0;
  for (const k of docs.keys()) {
    if (!k.startsWith('ITEM_')) continue;
    const i = parseInt(k.slice(5), 36);
    if (i > newestRestoredI) newestRestoredI = i;
    if (!w.acks.has(i)) restoredUnacked++;
  }
  let holes = 0;
  for (const i of w.acks.keys()) if (i < newestRestoredI && !docs.has(writerKey(i))) holes++;
  const shipped = w.shipments.filter((s) => s.at <= w.killedAt);
  const gaps = shipped.slice(1).map((s, k) => s.at - shipped[k]!.at).sort((a, b) => a - b);
  const linesEach = shipped.map((s) => s.last - s.first + 1).sort((a, b) => a - b);
  const mid = (xs: number[]): number | null => (xs.length === 0 ? null : xs[(xs.length - 1) >> 1]!);
  const lossWindowMs = lost === 0 ? 0 : w.killedAt - oldestLostAt;
  const problems: string[] = [];
  if (w.acks.size === 0) problems.push('the writer acknowledged nothing before the kill');
  if (!docs.has('BASE')) problems.push('the restore lacks the BASE write of the first archive');
  if (holes > 0) problems.push(`${fmtInt(holes)} acknowledged write(s) missing before the newest restored write (a gap)`);
  if (restored.source !== 's3') problems.push(`restored from ${restored.source}, not s3`);
  if (restored.shipped?.broken) problems.push(`the shipped WAL stopped at line ${restored.shipped.broken.fromLine}: ${restored.shipped.broken.reason}`);
  if (lossWindowMs > o.intervalMs + 1000) problems.push(`the loss window (${fmtMs(lossWindowMs)}) exceeds the interval + 1 s`);
  const lr: LossWindowRun = {
    run,
    killAfterMs,
    killedAfterMs: w.killedAt - w.readyAt,
    acked: w.acks.size,
    lost,
    lossWindowMs,
    lastAckBeforeKillMs: w.acks.size > 0 ? w.killedAt - newestAckAt : null,
    lastShipmentBeforeKillMs: shipped.length > 0 ? w.killedAt - Math.max(...shipped.map((s) => s.at)) : null,
    shipmentsBeforeKill: shipped.length,
    linesPerShipmentMedian: mid(linesEach),
    shipmentGapMsMedian: mid(gaps),
    shipmentGapMsMax: gaps.length > 0 ? gaps[gaps.length - 1]! : null,
    holes,
    restoredUnacked,
    restore: {
      ms: restoreMs,
      source: restored.source,
      linesRestored: restored.linesRestored,
      shippedLines: restored.shipped?.lines ?? null,
      shippedThrough: restored.shipped?.throughLine ?? null,
      broken: restored.shipped?.broken ? `${restored.shipped.broken.fromLine}-${restored.shipped.broken.toLine}: ${restored.shipped.broken.reason}` : null,
      documents: docs.size,
    },
    problems,
  };
  log(
    `loss window run ${run}/${o.killRuns}: ${fmtMs(lossWindowMs)} (${fmtInt(lost)} of ${fmtInt(w.acks.size)} acknowledged writes lost` +
      (lost > 0 ? `, the oldest, write ${fmtInt(oldestLostI)}, acked ${fmtMs(lossWindowMs)} before the kill` : '') +
      `); killed ${fmtMs(lr.killedAfterMs)} after the first write at ${fmtInt(o.killRate)} writes/s, last ack ${fmtMs(lr.lastAckBeforeKillMs)} and last shipment ` +
      `${fmtMs(lr.lastShipmentBeforeKillMs)} before the kill (${shipped.length} shipment(s), median ${fmtInt(lr.linesPerShipmentMedian ?? NaN)} lines, ` +
      `median ${fmtMs(lr.shipmentGapMsMedian)} and at most ${fmtMs(lr.shipmentGapMsMax)} apart); restored from ${restored.source} in ${fmtMs(restoreMs)}: ` +
      `${fmtInt(restored.linesRestored)} lines, ${fmtInt(restored.shipped?.lines ?? 0)} of them shipped; interval ${fmtInt(o.intervalMs)} ms`,
  );
  for (const p of problems) log(`  loss window run ${run}: PROBLEM: ${p}`);
  return lr;
}

/** Runs the shipping benchmark, prints its tables and lines, writes `.bench/shipping.json`. */
export async function runShippingBench(opts: ShippingBenchOptions = {}): Promise<ShippingBenchResult> {
  const log = opts.log ?? ((s: string) => console.log(`[shipping] ${s}`));
  const o = resolveOptions(opts);
  const root = benchRoot('shipping');
  const gnuTime = hasGnuTime();
  const result: ShippingBenchResult = {
    startedAt: new Date().toISOString(),
    machine: machineInfo(root, gnuTime),
    options: o,
    without: { error: 'not run' },
    with: { error: 'not run' },
    ratios: {},
    lossWindow: { intervalMs: o.intervalMs, runs: [], maxMs: null },
  };
  log(
    `${result.machine.cpus} CPU(s) ${result.machine.cpuModel}, node ${process.version}, data in ${root}; ` +
      `target ${fmtInt(o.rate)} writes/s for ${o.seconds} s (${fmtInt(o.rate * o.seconds)} writes, ~200-byte payloads over ${fmtInt(o.keys)} keys, ` +
      `open loop, at most ${fmtInt(o.maxInFlight)} in flight), fsyncMode 'batched' (10 ms), 1 MiB segments, zstd level 3; ` +
      `with shipping: continuous { intervalMs: ${fmtInt(o.intervalMs)} } to 'nas' (a local directory) and 's3' (s3rver on 127.0.0.1), no archive triggers; ` +
      `loss window: ${o.killRuns} run(s) at ${fmtInt(o.killRate)} writes/s to s3 only, SIGKILL after ${o.killAfterS} s + 0..${fmtInt(o.intervalMs)} ms; ` +
      `peak RSS from ${gnuTime ? 'GNU time' : "the child's process.resourceUsage().maxRSS"}`,
  );
  let s3: S3rverServer | null = null;
  let s3Error: string | null = null;
  try {
    try {
      s3 = await startS3rver([BUCKET], undefined, path.join(root, 's3rver'));
    } catch (err) {
      s3Error = `s3rver did not start: ${errorText(err)}`;
      log(s3Error);
    }
    for (const label of ['without', 'with'] as const) {
      try {
        if (label === 'with' && !s3) throw new Error(s3Error ?? 's3rver is not running');
        result[label] = await runLoad(root, label, o, s3, log);
      } catch (err) {
        log(`${label} shipping FAILED: ${errorText(err)}`);
        result[label] = { error: errorText(err) };
      } finally {
        if (process.env.BENCH_KEEP !== '1') fs.rmSync(path.join(root, label), { recursive: true, force: true });
      }
    }
    printLoadTables(result, o, log);
    for (let run = 1; run <= o.killRuns; run++) {
      try {
        if (!s3) throw new Error(s3Error ?? 's3rver is not running');
        result.lossWindow.runs.push(await runLossWindow(root, run, o, s3, log));
      } catch (err) {
        log(`loss window run ${run}/${o.killRuns} FAILED: ${errorText(err)}`);
        result.lossWindow.runs.push({ run, error: errorText(err) });
      } finally {
        if (process.env.BENCH_KEEP !== '1') {
          fs.rmSync(path.join(root, `kill-${run}`), { recursive: true, force: true });
          fs.rmSync(path.join(root, `kill-${run}-restored`), { recursive: true, force: true });
        }
      }
    }
    const done = result.lossWindow.runs.filter(isRun<LossWindowRun>);
    if (done.length > 0) {
      result.lossWindow.maxMs = Math.max(...done.map((r) => r.lossWindowMs));
      log(
        `loss window max: ${fmtMs(result.lossWindow.maxMs)} over ${done.length} run(s) (each: ${done.map((r) => fmtMs(r.lossWindowMs)).join(', ')}; ` +
          `acknowledged writes lost: ${done.map((r) => fmtInt(r.lost)).join(', ')}); configured interval ${fmtInt(o.intervalMs)} ms`,
      );
    }
  } finally {
    await s3?.dispose().catch((err: unknown) => log(`s3rver did not stop cleanly: ${errorText(err)}`));
    if (process.env.BENCH_KEEP !== '1') fs.rmSync(root, { recursive: true, force: true });
    else log(`data kept in ${root}`);
  }

  fs.mkdirSync(path.dirname(RESULTS_FILE), { recursive: true });
  fs.writeFileSync(RESULTS_FILE, `${JSON.stringify(result, null, 2)}\n`);
  log(`results written to ${path.relative(process.cwd(), RESULTS_FILE) || RESULTS_FILE}`);
  const failed = [
    ...(['without', 'with'] as const).filter((l) => !isRun(result[l])).map((l) => `${l}: ${(result[l] as { error: string }).error}`),
    ...result.lossWindow.runs.filter((r): r is { run: number; error: string } => 'error' in r).map((r) => `loss window run ${r.run}: ${r.error}`),
  ];
  if (failed.length > 0) throw new Error(`${failed.length} part(s) failed: ${failed.map((f) => f.replace(/\s*\n\s*/g, ' ').slice(0, 300)).join('; ')}`);
  return result;
}

function printLoadTables(result: ShippingBenchResult, o: ResolvedOptions, log: (s: string) => void): void {
  const wo = isRun(result.without) ? result.without : null;
  const w = isRun(result.with) ? result.with : null;
  console.log('');
  console.log(withWithoutTable([`${fmtInt(o.rate)} writes/s for ${o.seconds} s`, 'without shipping', `with (every ${fmtInt(o.intervalMs)} ms)`], wo, w, result.ratios));
  console.log('');
  const s = w?.shipping;
  if (!s) return;
  const stat = (x: { mean: number; p99: number; max: number }, f: (v: number) => string): string[] => [f(x.mean), f(x.p99), f(x.max)];
  console.log(
    formatTable(
      ['lag under the load', 'lagMs mean', 'p99', 'max', 'lagLines mean', 'p99', 'max', 'samples', 'shipments', 'bytes shipped', 'failures'],
      s.sources.map((src) => [
        src.source,
        ...stat(src.lagMs, fmtMs),
        ...stat(src.lagLines, fmtInt),
        fmtInt(src.samples),
        `${fmtInt(src.shipmentsDuringLoad)} (+${fmtInt(src.shipments - src.shipmentsDuringLoad)})`,
        `${fmtBytes(src.bytesDuringLoad)} (+${fmtBytes(src.bytes - src.bytesDuringLoad)})`,
        fmtInt(src.failures),
      ]),
    ),
  );
  console.log('');
  log(
    `lag sampled every ${s.sampleMs} ms from the first write to the last acknowledgement; shipments and bytes during the load (+ by flushShipping() and close); ` +
      `flushShipping() after the last write: ${fmtMs(s.flushMs)} (the WAL then ended at line ${fmtInt(s.linesAtFlush)}; ` +
      s.sources.map((src) => `${src.source} shipped through ${src.afterFlush?.shippedThrough ?? 'n/a'}, lag ${fmtInt(src.afterFlush?.lagLines ?? NaN)} lines`).join(', ') +
      `); WAL ${fmtBytes(w.walEndBytes)} at the end of the load; close ${fmtMs(w.closeMs)}`,
  );
  for (const src of s.sources) {
    log(
      `${src.source}: ${fmtInt(src.shipmentsDuringLoad)} shipments during the load, ${(src.shipmentsDuringLoad / w.wallS).toFixed(1)}/s, median ${fmtInt(src.linesPerShipmentMedian)} lines each, ` +
        `median ${fmtMs(src.gapMsMedian)} and at most ${fmtMs(src.gapMsMax)} from one to the next (interval ${fmtInt(o.intervalMs)} ms)`,
    );
  }
}

// `tsx bench/shipping.ts [--quick] [--rate N] ...` runs it on its own.
if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  runShippingBench({ quick: argv.includes('--quick'), argv }).catch((err: unknown) => {
    console.log(`shipping bench failed: ${(err as Error)?.stack ?? String(err)}`);
  });
}

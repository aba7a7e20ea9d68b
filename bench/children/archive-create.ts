/**
 * Benchmark child: archives a data directory that no process has open, with our
 * own code (`new ArchiveApi(offlineHost(dir)).create()`), and reports the time of
 * create() alone, the archive's size and what it holds. The data directory is
 * changed by it (a new empty segment, the archive state), so the parent gives
 * each run its own copy.
 *
 * Usage: archive-create.ts --dir D --level N [--workers N] [--no-par2] [--baseline]
 *   --no-par2: errorCorrection disabled (by default create() adds PAR2 recovery data).
 *   --baseline: load the modules and report, without archiving (the RSS floor of a child).
 */
import { ArchiveApi, offlineHost } from '../../src/archive/archive-api.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';

runChildMain(async () => {
  const args = childArgs();
  const dataDir = requireArg(args, 'dir');
  const level = Number(requireArg(args, 'level'));
  const workersText = args.get('workers');
  const workers = workersText === undefined || workersText === '' ? undefined : Number(workersText);
  const noPar2 = args.has('no-par2');
  const api = new ArchiveApi(offlineHost(dataDir, undefined), {
    compression: { level, ...(workers !== undefined ? { workers } : {}) },
    ...(noPar2 ? { errorCorrection: { enabled: false } } : {}),
  });
  if (args.has('baseline')) {
    reportResult({ baseline: true });
    return;
  }
  // Where the time goes, from the progress events: ms from the start of create() to the first event of each phase.
  const phaseStartMs: Record<string, number> = {};
  // Memory (MiB) at the first event of each phase, and the largest heapUsed seen at any event.
  const mib = (n: number) => Math.round((10 * n) / 1048576) / 10;
  const phaseMemMib: Record<string, { rss: number; heapUsed: number; external: number }> = {};
  let maxHeapUsedAtEvents = 0;
  let lastMemAt = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const created = await api.create({
    onProgress: (e) => {
      // Memory is read at each phase's first event and at most every 50 ms between them: read at every
      // event (one per chunk), process.memoryUsage() took 61 ms of a 2 s create (it reads /proc).
      const first = !(e.phase in phaseStartMs);
      const at = performance.now();
      if (!first && at - lastMemAt < 50) return;
      lastMemAt = at;
      const m = process.memoryUsage();
      maxHeapUsedAtEvents = Math.max(maxHeapUsedAtEvents, m.heapUsed);
      if (first) {
        phaseStartMs[e.phase] = performance.now() - t0;
        phaseMemMib[e.phase] = { rss: mib(m.rss), heapUsed: mib(m.heapUsed), external: mib(m.external) };
      }
    },
  });
  const createMs = performance.now() - t0;
  // User + system CPU of the whole process (every thread, zstd workers included) during create().
  const cpu = process.cpuUsage(cpu0);
  const m = created.manifest;
  const mem = process.memoryUsage();
  reportResult({
    createMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    phaseStartMs,
    phaseMemMib,
    maxHeapUsedAtEventsMib: mib(maxHeapUsedAtEvents),
    errorCorrection: m.errorCorrection,
    archiveId: created.archiveId,
    file: created.file,
    bytes: created.bytes,
    level: m.compression.level,
    workers: workers ?? null,
    walLines: m.contents.totalWalEntries,
    segments: m.contents.segments.length,
    originalSize: m.compression.originalSize,
    compressedSize: m.compression.compressedSize,
    chainVerified: m.chain.verified,
    rssAtEndKb: Math.round(mem.rss / 1024),
    heapUsedAtEndMib: mib(mem.heapUsed),
  });
});

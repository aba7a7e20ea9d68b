/**
 * Benchmark child of the encryption benchmark: one archive of a data directory that no process
 * has open, with our own code, encrypted with age or not, timed inside the child around create().
 *
 *   encryption-create.ts --dir D --level N [--recipient age1...]
 *     new ArchiveApi(offlineHost(D, undefined), { compression: { level: N }, encryption: { recipients: [R] } }).create()
 *     (without --recipient: no encryption block). PAR2 recovery data as by default.
 *
 * Reports the time, the CPU time of the whole process (every thread), the first progress event
 * of each phase (ms from the start of create()), the archive and the member names.
 */
import { ArchiveApi, offlineHost } from '../../src/archive/archive-api.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';

runChildMain(async () => {
  const args = childArgs();
  const dataDir = requireArg(args, 'dir');
  const level = Number(requireArg(args, 'level'));
  const recipient = args.get('recipient');
  const encrypted = recipient !== undefined && recipient !== '';
  const api = new ArchiveApi(offlineHost(dataDir, undefined), {
    compression: { level },
    ...(encrypted ? { encryption: { recipients: [recipient] } } : {}),
  });
  const phaseStartMs: Record<string, number> = {};
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const created = await api.create({
    onProgress: (e) => {
      if (!(e.phase in phaseStartMs)) phaseStartMs[e.phase] = performance.now() - t0;
    },
  });
  const createMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const m = created.manifest;
  reportResult({
    createMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    phaseStartMs,
    archiveId: created.archiveId,
    file: created.file,
    bytes: created.bytes,
    encryption: m.encryption?.scheme ?? null,
    walLines: m.contents.totalWalEntries,
    members: [m.contents.snapshot.file, ...m.contents.segments.map((s) => s.file)],
    compressedSize: m.compression.compressedSize,
  });
});

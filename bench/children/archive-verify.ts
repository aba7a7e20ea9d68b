/**
 * Benchmark child: verifies an archive with our own code (`db.archive.verify`, i.e.
 * `ArchiveApi.verify` over the data directory's archive directory) and reports the
 * time of verify() alone and what it checked.
 *
 * Usage: archive-verify.ts --dir D --id ARCHIVE_ID
 */
import { ArchiveApi, offlineHost } from '../../src/archive/archive-api.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';

runChildMain(async () => {
  const args = childArgs();
  const dataDir = requireArg(args, 'dir');
  const id = requireArg(args, 'id');
  const api = new ArchiveApi(offlineHost(dataDir, undefined));
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const report = await api.verify(id);
  const verifyMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  reportResult({ verifyMs, cpuMs: (cpu.user + cpu.system) / 1000, ok: report.ok, problems: report.problems.slice(0, 5), checked: report.checked });
});

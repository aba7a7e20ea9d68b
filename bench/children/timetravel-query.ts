/**
 * Benchmark child of the time-travel benchmark: one question about the past with our own code,
 * from one source only, timed inside the child around the call (the listing of the source, the
 * plan and the scan of the members it needs are all in it).
 *
 *   timetravel-query.ts --dir D --source local|s3 --endpoint URL --bucket B --op history --key K
 *   timetravel-query.ts ... --op read --key K --at T
 *   timetravel-query.ts ... --op diff --at T --to T2
 *     openRestore({ dataDir: D, config: { remotes: [s3] } }).history(K, { source })
 *     / .read(K, { at: T, source }) / .diff({ at: T, to: T2, source })
 *
 * Reports the time, the CPU time of the whole process, what was read (`read.bytes`, `read.requests`)
 * and the answer, for the parent to check: history, its entries' count and sha256; read, the
 * document; diff, its sizes and sha256 (lib/timetravel-wal.ts computes the same from a replay).
 */
import { openRestore } from '../../src/archive/restore-api.js';
import { childArgs, reportResult, requireArg, runChildMain } from '../lib/child.js';
import { diffDigest, historyDigest, type EntryTuple } from '../lib/timetravel-wal.js';
import { benchS3Remote } from './restore-remote-run.js';

runChildMain(async () => {
  const args = childArgs();
  const dataDir = requireArg(args, 'dir');
  const source = requireArg(args, 'source');
  const op = requireArg(args, 'op');
  const api = openRestore({ dataDir, config: { remotes: [benchS3Remote(requireArg(args, 'endpoint'), requireArg(args, 'bucket'))] } });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  // The answer is summed up for the parent after the clock and the CPU time are read.
  let summary: () => Record<string, unknown>;
  let read: { bytes: number; requests: number };
  if (op === 'history') {
    const h = await api.history(requireArg(args, 'key'), { source });
    read = h.read;
    summary = () => {
      const entries: EntryTuple[] = h.entries.map((e) => [e.line, e.timestamp, e.action, e.key, e.value]);
      return { entries: entries.length, sha256: historyDigest(entries), first: entries[0] ?? null, last: entries.at(-1) ?? null };
    };
  } else if (op === 'read') {
    const r = await api.read(requireArg(args, 'key'), { at: Number(requireArg(args, 'at')), source });
    read = r.read;
    summary = () => ({ exists: r.exists, document: r.document });
  } else if (op === 'diff') {
    const d = await api.diff({ at: Number(requireArg(args, 'at')), to: Number(requireArg(args, 'to')), source });
    read = d.read;
    summary = () => diffDigest(d);
  } else throw new Error(`bad --op ${op}`);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const answer = summary();
  await api.close();
  reportResult({ op, source, ms, cpuMs: (cpu.user + cpu.system) / 1000, read, answer });
});

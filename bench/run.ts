/**
 * `npm run bench`: runs each registered benchmark in turn and prints its figures.
 *
 *   npm run bench                          every benchmark, full sizes
 *   npm run bench -- --only store,par2     a selection (store, par2, archive, restore, restore-remote, remote, archiving, shipping, encryption, timetravel)
 *   npm run bench -- --quick               smaller sizes (a smoke run)
 *   npm run bench -- --only store --lines 200000
 *
 * Benchmarks are not tests: a benchmark that throws is reported and skipped, and
 * this script always exits 0, so it never fails a build.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatSummary, readSummaryRows, type SummaryRow } from './lib/summary.js';

/** A benchmark that cannot run here (e.g. its module is missing): reported as skipped, without a stack. */
class SkipBenchmark extends Error {}

interface Benchmark {
  name: string;
  run: (argv: readonly string[], quick: boolean) => Promise<unknown>;
}

const BENCHMARKS: Benchmark[] = [
  {
    name: 'store',
    run: async (argv) => {
      const { runStoreBench, resolveStoreBenchOptions } = await import('./store.js');
      return runStoreBench(resolveStoreBenchOptions(argv));
    },
  },
  {
    name: 'par2',
    run: async (argv, quick) => {
      // Written by another part of the project; absent or incomplete is reported, not fatal.
      if (!fs.existsSync(new URL('./par2.ts', import.meta.url))) throw new SkipBenchmark('bench/par2.ts does not exist');
      // A specifier in a variable: the type check must not require the file to exist.
      const specifier = './par2.js';
      const mod = (await import(specifier)) as { runPar2Bench?: (opts: { quick: boolean; argv: readonly string[] }) => Promise<unknown> };
      if (typeof mod.runPar2Bench !== 'function') throw new SkipBenchmark('bench/par2.ts does not export runPar2Bench');
      return mod.runPar2Bench({ quick, argv });
    },
  },
  {
    name: 'archive',
    run: async (argv) => {
      const { runArchiveBench, resolveArchiveBenchOptions } = await import('./archive.js');
      return runArchiveBench(resolveArchiveBenchOptions(argv));
    },
  },
  {
    name: 'restore',
    run: async (argv, quick) => {
      const { runRestoreBench, resolveRestoreBenchOptions } = await import('./restore.js');
      const base = resolveRestoreBenchOptions(argv, quick);
      // Issue 15's sizes: 50, 200 and 500 MiB (the lookup among many archives once), unless a size is given.
      const given = argv.some((a) => a.startsWith('--restore-mib')) || process.env.BENCH_RESTORE_MIB !== undefined;
      const sizes = quick || given ? [base.walMib] : [50, 200, 500];
      const summaryRows: SummaryRow[] = [];
      for (const [i, walMib] of sizes.entries()) {
        const r = await runRestoreBench({ ...base, walMib, lookup: i === sizes.length - 1 });
        summaryRows.push(...r.summaryRows);
      }
      return { summaryRows };
    },
  },
  {
    name: 'restore-remote',
    run: async (argv, quick) => {
      // A restore from S3 against the same restore from a local file (bench/restore-remote.ts).
      if (!fs.existsSync(new URL('./restore-remote.ts', import.meta.url))) throw new SkipBenchmark('bench/restore-remote.ts does not exist');
      const specifier = './restore-remote.js';
      const mod = (await import(specifier)) as { runRestoreRemoteBench?: (opts: { quick: boolean; argv: readonly string[] }) => Promise<unknown> };
      if (typeof mod.runRestoreRemoteBench !== 'function') throw new SkipBenchmark('bench/restore-remote.ts does not export runRestoreRemoteBench');
      return mod.runRestoreRemoteBench({ quick, argv });
    },
  },
  {
    name: 'remote',
    run: async (argv, quick) => {
      const { runRemoteBench } = await import('./remote.js');
      return runRemoteBench({ quick, argv });
    },
  },
  {
    name: 'archiving',
    run: async (argv, quick) => {
      const { runArchivingBench } = await import('./archiving.js');
      return runArchivingBench({ quick, argv });
    },
  },
  {
    name: 'shipping',
    run: async (argv, quick) => {
      const { runShippingBench } = await import('./shipping.js');
      return runShippingBench({ quick, argv });
    },
  },
  {
    name: 'encryption',
    run: async (argv, quick) => {
      // Issue 16: create and restore with age encryption on against off, and the tools with age in the pipeline.
      const { runEncryptionBench, resolveEncryptionBenchOptions } = await import('./encryption.js');
      return runEncryptionBench(resolveEncryptionBenchOptions(argv, quick));
    },
  },
  {
    name: 'timetravel',
    run: async (argv, quick) => {
      // Issue 17: history, show --at T and diff from an archive against the tools and two restores, and the bytes fetched from a remote.
      const { runTimeTravelBench, resolveTimeTravelBenchOptions } = await import('./timetravel.js');
      return runTimeTravelBench(resolveTimeTravelBenchOptions(argv, quick));
    },
  },
];

function parseOnly(argv: readonly string[]): string[] | null {
  const i = argv.indexOf('--only');
  const text = i >= 0 ? argv[i + 1] : argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
  if (text === undefined) return null;
  return text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const only = parseOnly(argv);
  const unknown = only?.filter((n) => !BENCHMARKS.some((b) => b.name === n)) ?? [];
  if (unknown.length > 0) console.log(`bench: unknown benchmark(s) ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  const selected = BENCHMARKS.filter((b) => only === null || only.includes(b.name));
  const summary: string[] = [];
  const ratios: Array<{ bench: string; row: SummaryRow }> = [];
  const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '.bench');
  for (const b of selected) {
    console.log(`\n=== bench ${b.name}${quick ? ' (quick)' : ''} ===`);
    const started = performance.now();
    try {
      const result = (await b.run(argv, quick)) as { summaryRows?: SummaryRow[] } | undefined;
      // The ratios it measured: from what it returned, else from the results file it wrote.
      if (Array.isArray(result?.summaryRows)) ratios.push(...result.summaryRows.map((row) => ({ bench: b.name, row })));
      else ratios.push(...readSummaryRows(resultsDir, [b.name], started));
      summary.push(`${b.name}: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    } catch (err) {
      if (err instanceof SkipBenchmark) {
        console.log(`bench ${b.name} skipped: ${err.message}`);
        summary.push(`${b.name}: skipped (${err.message})`);
        continue;
      }
      const message = (err as Error)?.stack ?? String(err);
      console.log(`bench ${b.name} failed: ${message}`);
      summary.push(`${b.name}: FAILED (${(err as Error)?.message?.split('\n')[0] ?? String(err)})`);
    }
  }
  console.log(`\n=== bench summary ===\n${summary.join('\n') || 'nothing selected'}`);
  if (ratios.length > 0) {
    console.log(`\n=== ours / theirs, measured interleaved in this run (targets: issues 15, 16 and 17) ===\n${formatSummary(ratios)}`);
  }
}

main()
  .catch((err: unknown) => console.log(`bench: ${(err as Error)?.stack ?? String(err)}`))
  .finally(() => {
    process.exitCode = 0;
  });

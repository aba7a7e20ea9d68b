/** `bri restore list|info|latest|from|to-timestamp|clone|verify`. */
import * as path from 'node:path';
import type { Command } from 'commander';
import { openRestore, type RestoreApi, type RestoreCallOptions } from '../../archive/restore-api.js';
import type { RestorePlan } from '../../archive/restore/plan.js';
import type { RestoreResult } from '../../archive/restore/execute.js';
import { BriError, ErrorCodes } from '../../errors.js';
import { timeline } from '../../archive/restore/plan.js';
import { assertDirectoryInput } from '../../archive/package/input-file.js';
import { parseTimeRange, TIME_FORMS } from '../../format/input.js';
import { addConfigOption, addDataDirOption, addOutputOptions, cliArchiveConfig, cliEncryptionKey, closeAtExit, commonOptions, parseOpt, type CommonOptions } from '../common.js';
import { EXIT_FAILURE, EXIT_REPAIRABLE, exitCodeFor } from '../exit-codes.js';
import { formatBytes, formatTable, formatTime, printJson, printLine } from '../output.js';
import { progressBar } from '../progress.js';
import { ARCHIVE_HEADERS, archiveJson, archiveRow, listingProblemsJson, manifestSummary, reportListingProblems } from './archive.js';

function restoreApi(raw: Record<string, unknown>, opts: CommonOptions): RestoreApi {
  return closeAtExit(
    openRestore({
      dataDir: opts.dataDir,
      config: cliArchiveConfig(raw),
      ...(cliEncryptionKey() ? { key: cliEncryptionKey()! } : {}),
    }),
  );
}

function base(cmd: Command): Command {
  return addConfigOption(addOutputOptions(addDataDirOption(cmd)).option('-a, --archive-dir <dir>', 'where archives are kept (default: <data-dir>/archives)')).option(
    '-s, --source <name>',
    "only this source: 'local', a remote's name, or a provider (s3, gcs, azure); default: every source in restoreSources order",
  );
}

const BROKEN_SHIPMENT = ['stop', 'fail'] as const;

function withRestoreOptions(cmd: Command): Command {
  return base(cmd)
    .option('-t, --target <dir>', 'directory to restore into (default: the data directory)')
    .option('--dry-run', 'print the plan and change nothing', false)
    .option('--verify', 'verify (and repair with PAR2) the archive first: the default')
    .option('--no-verify', 'skip verifying the archive first')
    .option('-f, --force', 'replace a non-empty target (it is kept beside, renamed)', false)
    .option('--clean-existing', 'remove the old directory instead of keeping it', false)
    .option('--instance <id>', "which instance's archives (default: the data directory's, else the newest)")
    .option('--on-broken-shipment <what>', "a damaged or missing shipped WAL object: 'stop' at the last good line (default) or 'fail'", parseOpt.choice('--on-broken-shipment', BROKEN_SHIPMENT), 'stop');
}

function callOptions(raw: Record<string, unknown>, opts: CommonOptions): RestoreCallOptions {
  if (raw.target) assertDirectoryInput(path.resolve(String(raw.target)), '--target');
  return {
    ...(raw.target ? { targetDir: path.resolve(String(raw.target)) } : {}),
    dryRun: raw.dryRun === true,
    verify: raw.verify !== false,
    force: raw.force === true,
    cleanExisting: raw.cleanExisting === true,
    ...(raw.instance ? { instanceId: String(raw.instance) } : {}),
    ...(raw.source ? { source: String(raw.source) } : {}),
    ...(raw.onBrokenShipment === 'fail' ? { onBrokenShipment: 'fail' as const } : {}),
    // Saying so when a source is passed over: on stderr, so that --json output stays one document.
    ...(opts.quiet ? {} : { onSourceProblem: (p) => process.stderr.write(`${p.source}: ${p.reason}; trying the next source\n`) }),
  };
}

export function describePlan(plan: RestorePlan): string {
  const a = plan.archive;
  const shipped = plan.shipped ? `shipped WAL  lines ${plan.shipped.afterLine + 1}..${plan.shipped.throughLine} on ${plan.shipped.source}${plan.shipped.gapAt !== null ? ` (missing from line ${plan.shipped.gapAt})` : ''}` : '';
  return [
    a ? `archive      ${a.manifest.archiveId}${a.manifest.name ? ` (${a.manifest.name})` : ''}` : 'archive      none yet: from the empty state at line 0 and the shipped WAL',
    a ? `copies       ${(a.copies ?? []).map((c) => `${c.source} (${c.location})`).join(', ') || a.file}` : '',
    shipped,
    `instance     ${plan.instanceId}`,
    `time range   ${formatTime(plan.timeRange.start.getTime())} .. ${formatTime(plan.timeRange.end.getTime())}`,
    `restore to   ${plan.untilTimestamp === null ? 'the end of the archive' : `${formatTime(plan.untilTimestamp)} (every line with timestamp <= it)`}`,
    `lines        snapshot at line ${plan.startLine}, then up to ${plan.linesToReplay} lines to replay`,
    `bytes        ${formatBytes(plan.bytesToFetch)} to read, up to ${formatBytes(plan.bytesToWrite)} to write`,
    `chain        ${plan.continuesChain ? 'continues (same instance)' : 'forks: the result gets a new instance id'}`,
  ]
    .filter(Boolean)
    .join('\n');
}

function printResult(result: RestoreResult, opts: CommonOptions): void {
  if (opts.json) return printJson(result);
  if (result.dryRun) {
    printLine(`dry run: nothing was changed\n${describePlan(result.plan)}\ntarget       ${result.targetDir}${result.movedAside ? `\nmoved aside  ${result.movedAside}` : ''}`, opts);
    return;
  }
  printLine(
    [
      result.plan.archive ? `restored ${result.targetDir} from ${result.plan.archive.manifest.archiveId} (copy on ${result.source})` : `restored ${result.targetDir} from the shipped WAL on ${result.source} (no archive yet)`,
      ...result.skipped.map((p) => `passed over  ${p.source}: ${p.reason}`),
      result.shipped ? `shipped WAL  ${result.shipped.lines} lines from ${result.shipped.source}, through line ${result.shipped.throughLine}` : '',
      result.shipped?.broken ? `WARNING      shipped WAL lines ${result.shipped.broken.fromLine}..${result.shipped.broken.toLine} are unusable (${result.shipped.broken.reason}); restored up to line ${result.shipped.throughLine}` : '',
      `lines        ${result.linesRestored} (through absolute line ${result.lastLine}, ${formatTime(result.lastTimestamp)})`,
      `state        ${result.documents ?? '?'} documents, ${result.collections ?? '?'} sets`,
      `instance     ${result.instanceId}`,
      result.repaired ? `repaired     ${result.repaired.repairedBlocks} of ${result.repaired.damagedBlocks} damaged blocks with PAR2` : '',
      result.movedAside ? `old data     moved to ${result.movedAside}` : '',
      ...result.warnings.map((w) => `WARNING      ${w}`),
      ...result.hookErrors.map((e) => `hook error   ${e}`),
    ]
      .filter(Boolean)
      .join('\n'),
    opts,
  );
}

export function registerRestoreCommands(program: Command): void {
  const restore = program.command('restore').description('restore a data directory from archives');

  base(restore.command('list'))
    .description('archives of every source, merged, and the restorable time ranges per source')
    .option('--after <time>', `only archives ending after this time: ${TIME_FORMS}`, parseOpt.time('--after'))
    .option('--before <time>', 'only archives starting before this time (the same forms)', parseOpt.time('--before'))
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const range = parseTimeRange({ after: raw.after as number | undefined, before: raw.before as number | undefined }, { after: '--after', before: '--before' });
      const listing = await restoreApi(raw, opts).list({
        ...(raw.source ? { source: String(raw.source) } : {}),
        ...range,
      });
      const sources = [...new Set(listing.archives.flatMap((a) => a.copies.map((c) => c.source)))];
      const bySource = sources.map((source) => ({ source, ranges: timeline(listing.archives.filter((a) => a.copies.some((c) => c.source === source))) }));
      if (opts.json) return printJson({ archives: listing.archives.map(archiveJson), ranges: listing.ranges, bySource, shipped: listing.shipped, ...listingProblemsJson(listing) });
      const shippedText = (source: string, instanceId: string) => {
        const s = listing.shipped.find((x) => x.source === source && x.instanceId === instanceId);
        return s ? `, shipped WAL to ${s.endTime ? formatTime(s.endTime.getTime()) : '?'} (line ${s.throughLine}${s.gapAt !== null ? `; missing from line ${s.gapAt}` : ''})` : '';
      };
      const ranges = bySource.flatMap(({ source, ranges }) =>
        ranges.map((r) => `  ${source}: ${r.instanceId}: archives ${formatTime(r.start.getTime())} .. ${formatTime(r.end.getTime())} (lines ${r.firstLine + 1}..${r.lastLine}, ${r.archives.length} archives)${shippedText(source, r.instanceId)}`),
      );
      // An instance with no archive yet restores from its shipped WAL alone (from line 1).
      const shippedOnly = listing.shipped
        .filter((x) => x.afterLine === 0 && !listing.archives.some((a) => a.manifest.instanceId === x.instanceId))
        .map((x) => `  ${x.source}: ${x.instanceId}: no archive yet; shipped WAL ${formatTime(x.startTime?.getTime())} .. ${formatTime(x.endTime?.getTime())} (lines 1..${x.throughLine}${x.gapAt !== null ? `; missing from line ${x.gapAt}` : ''})`);
      const restorable = [...ranges, ...shippedOnly];
      printLine([listing.archives.length ? formatTable(ARCHIVE_HEADERS, listing.archives.map(archiveRow)) : 'no archives', '', 'restorable:', ...(restorable.length ? restorable : ['  nothing'])].join('\n'), opts);
      reportListingProblems(listing);
    });

  base(restore.command('info'))
    .argument('<id>', 'archive id')
    .description('what restoring an archive would give')
    .action(async (id: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const plan = await restoreApi(raw, opts).plan({ kind: 'archive', archiveId: id }, undefined, raw.source ? String(raw.source) : undefined);
      if (opts.json) return printJson(plan);
      printLine(plan.archive ? `${describePlan(plan)}\n\n${manifestSummary(plan.archive.manifest, plan.archive.bytes)}` : describePlan(plan), opts);
    });

  const runRestore = async (raw: Record<string, unknown>, go: (api: RestoreApi, o: RestoreCallOptions) => Promise<RestoreResult>) => {
    const opts = commonOptions(raw);
    const bar = progressBar(!opts.json && !opts.quiet && raw.dryRun !== true);
    try {
      const result = await go(restoreApi(raw, opts), { ...callOptions(raw, opts), ...(bar.listener ? { onProgress: bar.listener } : {}) });
      bar.stop();
      printResult(result, opts);
      // The directory is restored, but a hook that failed is a failure to report (as for afterArchive).
      if (result.hookErrors.length > 0) {
        if (opts.json) for (const e of result.hookErrors) process.stderr.write(`hook failed: ${e}\n`);
        process.exitCode = EXIT_FAILURE;
      }
    } finally {
      bar.stop();
    }
  };

  withRestoreOptions(restore.command('latest'))
    .description('restore the end of the newest archive')
    .action((raw: Record<string, unknown>) => runRestore(raw, (api, o) => api.fromLatest(o)));

  withRestoreOptions(restore.command('from'))
    .argument('<id>', 'archive id')
    .description('restore the end of an archive')
    .action((id: string, raw: Record<string, unknown>) => runRestore(raw, (api, o) => api.from(id, o)));

  withRestoreOptions(restore.command('to-timestamp'))
    .argument('<time>', TIME_FORMS, parseOpt.time('the time'))
    .description('restore the state at a point in time (every WAL line with timestamp <= it)')
    .action((ts: number, raw: Record<string, unknown>) => runRestore(raw, (api, o) => api.toTimestamp(ts, o)));

  withRestoreOptions(restore.command('clone'))
    .argument('[id]', 'from this archive (the same as --archive; default: the latest)')
    .description('a copy in another directory with a new instance id (the source is untouched)')
    .option('--archive <id>', 'from this archive (default: the latest)')
    .option('--at <time>', `at this point in time: ${TIME_FORMS}`, parseOpt.time('--at'))
    .option('--new-instance-id <id>', 'the instance id of the copy (default: random)')
    .action((id: string | undefined, raw: Record<string, unknown>) =>
      runRestore(raw, (api, o) => {
        if (!o.targetDir) throw new BriError(ErrorCodes.USAGE, 'clone needs --target <dir>', { hint: 'Name the directory for the copy.' });
        if (id !== undefined && raw.archive !== undefined && id !== raw.archive) throw new BriError(ErrorCodes.USAGE, `clone names two archives (${id} and --archive ${String(raw.archive)})`, { hint: 'Give the archive once: bri restore clone <id> --target DIR.' });
        const archive = id ?? (raw.archive !== undefined ? String(raw.archive) : undefined);
        if (archive !== undefined && raw.at !== undefined) throw new BriError(ErrorCodes.USAGE, 'clone takes an archive or --at, not both', { hint: '<id> (or --archive <id>) clones the end of an archive; --at <time> the state at a point in time.' });
        return api.clone({
          ...o,
          targetDir: o.targetDir,
          ...(archive !== undefined ? { archiveId: archive } : {}),
          ...(raw.at !== undefined ? { timestamp: raw.at as number } : {}),
          ...(raw.newInstanceId ? { newInstanceId: String(raw.newInstanceId) } : {}),
        });
      }),
    );

  base(restore.command('verify'))
    .argument('<id>', 'archive id')
    .description('verify an archive before restoring from it')
    .action(async (id: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const report = await restoreApi(raw, opts).verify(id, raw.source ? { source: String(raw.source) } : {});
      if (opts.json) printJson(report);
      else if (report.ok) printLine(`OK ${id}: ${report.checked.walLines} WAL lines, chain ${report.checked.chain}, snapshot ${report.checked.snapshot}`, opts);
      else {
        process.stderr.write(`FAILED ${id}\n`);
        for (const p of report.problems) process.stderr.write(`  ${p}\n`);
      }
      if (!report.ok) process.exitCode = report.repairable ? EXIT_REPAIRABLE : exitCodeFor(ErrorCodes.ARCHIVE_CORRUPTED);
    });
}

/** How restore plans, results and listings read. */
import type { RestoreListing, RestorePlan, RestoreResult } from '../../archive/offline.js';
import type { CommonOptions } from '../options.js';
import { formatBytes, formatTime, printJson, printLine } from '../output.js';
import { linesAfter } from '../../format/text/line-range.js';

function restoreTo(plan: RestorePlan): string {
  const past = plan.pastLastLine;
  // A time after a quiet database's last line: the newest state is the state then.
  if (past && plan.target.kind === 'timestamp') return `${formatTime(plan.target.timestamp)}: after the last line (line ${past.line}, ${formatTime(past.timestamp)}), nothing written since: the newest state`;
  return plan.untilTimestamp === null ? 'the end of the archive' : `${formatTime(plan.untilTimestamp)} (every line with timestamp <= it)`;
}

export function describePlan(plan: RestorePlan): string {
  const a = plan.archive;
  const shipped = plan.shipped ? `shipped WAL  ${linesAfter(plan.shipped.afterLine, plan.shipped.throughLine)} on ${plan.shipped.source}${plan.shipped.gapAt !== null ? ` (missing from line ${plan.shipped.gapAt})` : ''}` : '';
  return [
    a ? `archive      ${a.manifest.archiveId}${a.manifest.name ? ` (${a.manifest.name})` : ''}` : 'archive      none yet: from the empty state at line 0 and the shipped WAL',
    a ? `copies       ${(a.copies ?? []).map((c) => `${c.source} (${c.location})`).join(', ') || a.file}` : '',
    shipped,
    `instance     ${plan.instanceId}`,
    `time range   ${formatTime(plan.timeRange.start.getTime())} .. ${formatTime(plan.timeRange.end.getTime())}`,
    `restore to   ${restoreTo(plan)}`,
    `lines        snapshot at line ${plan.startLine}, then up to ${plan.linesToReplay} lines to replay`,
    `bytes        ${formatBytes(plan.bytesToFetch)} to read, up to ${formatBytes(plan.bytesToWrite)} to write`,
    `chain        ${plan.continuesChain ? 'continues (same instance)' : 'forks: the result gets a new instance id'}`,
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * A restore's answer: its summary on stdout (what --quiet silences), and on stderr, whatever --quiet says,
 * what a person must not miss: each warning and each failed hook (the exit code says a hook failed;
 * --quiet hid why). Under --json all of it is the one document on stdout.
 */
export function printResult(result: RestoreResult, opts: CommonOptions): void {
  const broken = result.shipped?.broken;
  const warnings = [...(broken ? [`shipped WAL lines ${broken.fromLine}..${broken.toLine} are unusable (${broken.reason}); restored up to line ${result.shipped!.throughLine}`] : []), ...result.warnings];
  // Under --json the document holds the warnings and the failed hooks: stderr stays JSON.
  if (opts.json) {
    printJson(result);
    return;
  }
  for (const w of warnings) process.stderr.write(`WARNING      ${w}\n`);
  for (const e of result.hookErrors) process.stderr.write(`hook failed: ${e}\n`);
  if (result.dryRun) {
    printLine(`dry run: nothing was changed\n${describePlan(result.plan)}\ntarget       ${result.targetDir}${result.movedAside ? `\nmoved aside  ${result.movedAside}` : ''}`, opts);
    return;
  }
  printLine(
    [
      result.plan.archive ? `restored ${result.targetDir} from ${result.plan.archive.manifest.archiveId} (copy on ${result.source})` : `restored ${result.targetDir} from the shipped WAL on ${result.source} (no archive yet)`,
      // A source with no copy at all was not passed over: nothing was tried there.
      ...result.skipped.filter((p) => p.code !== 'ARCHIVE_NOT_FOUND').map((p) => `passed over  ${p.source}: ${p.reason}`),
      result.shipped ? `shipped WAL  ${result.shipped.lines} lines from ${result.shipped.source}, through line ${result.shipped.throughLine}` : '',
      `lines        ${result.linesRestored} (through absolute line ${result.lastLine}, ${formatTime(result.lastTimestamp)})`,
      result.plan.pastLastLine ? `restore to   ${restoreTo(result.plan)}` : '',
      `state        ${result.documents ?? '?'} documents, ${result.collections ?? '?'} sets`,
      `instance     ${result.instanceId}`,
      result.repaired ? `repaired     ${result.repaired.repairedBlocks} of ${result.repaired.damagedBlocks} damaged blocks with PAR2` : '',
      result.movedAside ? `old data     moved to ${result.movedAside}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
    opts,
  );
}

/** The restorable lines of `bri restore list`: per source and instance, then the instances restorable from their shipped WAL alone. */
export function restorableLines(listing: RestoreListing): string[] {
  const shippedText = (source: string, instanceId: string) => {
    const s = listing.shipped.find((x) => x.source === source && x.instanceId === instanceId);
    return s ? `, shipped WAL to ${s.endTime ? formatTime(s.endTime.getTime()) : '?'} (line ${s.throughLine}${s.gapAt !== null ? `; missing from line ${s.gapAt}` : ''})` : '';
  };
  const ranges = listing.bySource.flatMap(({ source, ranges }) =>
    ranges.map((r) => `  ${source}: ${r.instanceId}: archives ${formatTime(r.start.getTime())} .. ${formatTime(r.end.getTime())} (${linesAfter(r.firstLine, r.lastLine)}, ${r.archives.length} archives)${shippedText(source, r.instanceId)}`),
  );
  const shippedOnly = listing.shippedOnly.map(
    (x) => `  ${x.source}: ${x.instanceId}: no archive yet; shipped WAL ${formatTime(x.startTime?.getTime())} .. ${formatTime(x.endTime?.getTime())} (${linesAfter(0, x.throughLine)}${x.gapAt !== null ? `; missing from line ${x.gapAt}` : ''})`,
  );
  return [...ranges, ...shippedOnly];
}

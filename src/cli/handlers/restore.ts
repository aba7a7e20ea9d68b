/** The `bri restore` commands: each opens the restore API, calls it, prints, and answers the exit code. */
import { openOfflineRestore, type RestoreApi, type RestoreCallOptions, type RestoreResult } from '../../archive/offline.js';
import { EXIT_OK, outcomeExitCode } from '../exit-codes.js';
import type { ArchiveCommon, CommandsOf, Handlers, RestoreRunOptions } from '../options.js';
import { formatTable, printJson, printLine, printWarning } from '../output.js';
import { progressBar } from '../progress.js';
import { ARCHIVE_HEADERS, archiveJson, archiveRow, checkedText, listingExitCode, listingProblemsJson, manifestSummary, reportListingProblems } from './archive-text.js';
import { describePlan, printResult, restorableLines } from './restore-text.js';
import { timeTravelHandlers } from './time-travel.js';

/** The API for one command, closed when it is done (remote clients keep sockets open). */
async function withRestore(o: ArchiveCommon, fn: (api: RestoreApi) => Promise<number>): Promise<number> {
  const api = await openOfflineRestore({ dataDir: o.dataDir, ...(o.configFile !== undefined ? { configFile: o.configFile } : {}), ...(o.archiveDir !== undefined ? { archiveDir: o.archiveDir } : {}) });
  try {
    return await fn(api);
  } finally {
    await api.close().catch(() => undefined);
  }
}

/** A restore: the progress bar, the call, the result and its exit code. */
function restoreRun(o: RestoreRunOptions, go: (api: RestoreApi, call: RestoreCallOptions) => Promise<RestoreResult>): Promise<number> {
  return withRestore(o, async (api) => {
    const bar = progressBar(!o.json && !o.quiet && !o.dryRun);
    try {
      const result = await go(api, {
        ...(o.targetDir !== undefined ? { targetDir: o.targetDir } : {}),
        dryRun: o.dryRun,
        verify: o.verify,
        force: o.force,
        cleanExisting: o.cleanExisting,
        ...(o.instanceId !== undefined ? { instanceId: o.instanceId } : {}),
        ...(o.source !== undefined ? { source: o.source } : {}),
        ...(o.onBrokenShipment === 'fail' ? { onBrokenShipment: 'fail' as const } : {}),
        ...(o.identity !== undefined ? { identity: o.identity } : {}),
        // Saying so when a source is passed over: on stderr (so that --json output stays one document), whatever
        // --quiet says (a warning, as the download's), on its own line above the bar.
        onSourceProblem: (p) => bar.aside(() => printWarning(`${p.source}: ${p.reason}; trying the next source`, o.json, { source: p.source, reason: p.reason })),
        ...(bar.listener ? { onProgress: bar.listener } : {}),
      });
      bar.stop();
      printResult(result, o);
      return outcomeExitCode.restored(result);
    } finally {
      bar.stop();
    }
  });
}

export const handlers: Handlers<CommandsOf<'restore'>> = {
  'restore list': (o) =>
    withRestore(o, async (api) => {
      const listing = await api.list({ ...(o.source !== undefined ? { source: o.source } : {}), ...(o.after !== undefined ? { after: o.after } : {}), ...(o.before !== undefined ? { before: o.before } : {}) });
      if (o.json) {
        printJson({ archives: listing.archives.map(archiveJson), ranges: listing.ranges, bySource: listing.bySource, shipped: listing.shipped, ...listingProblemsJson(listing) });
        return listingExitCode(listing, o.source === undefined ? null : [o.source]);
      }
      const restorable = restorableLines(listing);
      printLine([listing.archives.length ? formatTable(ARCHIVE_HEADERS, listing.archives.map(archiveRow)) : 'no archives', '', 'restorable:', ...(restorable.length ? restorable : ['  nothing'])].join('\n'), o);
      reportListingProblems(listing);
      return listingExitCode(listing, o.source === undefined ? null : [o.source]);
    }),

  'restore info': (o) =>
    withRestore(o, async (api) => {
      const plan = await api.plan({ kind: 'archive', archiveId: o.id }, undefined, o.source);
      if (o.json) printJson(plan);
      else printLine(plan.archive ? `${describePlan(plan)}\n\n${manifestSummary(plan.archive.manifest, plan.archive.bytes)}` : describePlan(plan), o);
      return EXIT_OK;
    }),

  'restore latest': (o) => restoreRun(o, (api, call) => api.fromLatest(call)),
  'restore from': (o) => restoreRun(o, (api, call) => api.from(o.id, call)),
  'restore to-timestamp': (o) => restoreRun(o, (api, call) => api.toTimestamp(o.timestamp, call)),
  'restore clone': (o) =>
    restoreRun(o, (api, call) =>
      api.clone({
        ...call,
        targetDir: o.targetDir,
        ...(o.archiveId !== undefined ? { archiveId: o.archiveId } : {}),
        ...(o.timestamp !== undefined ? { timestamp: o.timestamp } : {}),
        ...(o.newInstanceId !== undefined ? { newInstanceId: o.newInstanceId } : {}),
      }),
    ),

  'restore diff': timeTravelHandlers['restore diff'],
  'restore keys': timeTravelHandlers['restore keys'],

  'restore verify': (o) =>
    withRestore(o, async (api) => {
      const report = await api.verify(o.id, { ...(o.source !== undefined ? { source: o.source } : {}), ...(o.identity !== undefined ? { identity: o.identity } : {}), deep: o.deep });
      if (o.json) printJson(report);
      else if (report.ok) printLine(`OK ${o.id}: ${checkedText(report.checked)}`, o);
      else {
        process.stderr.write(`FAILED ${o.id}\n`);
        for (const p of report.problems) process.stderr.write(`  ${p}\n`);
      }
      return outcomeExitCode.restoreVerify(report);
    }),
};

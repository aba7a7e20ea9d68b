/** The `bri archive` commands: each opens the archive API over the stopped data directory, calls it, prints, and answers the exit code. */
import * as path from 'node:path';
import { openOfflineArchive, type ArchiveApi, type CopyStatus, type CreatedAndStored, type ThawStatus } from '../../archive/offline.js';
import { EXIT_OK, exitCodeFor, outcomeExitCode } from '../exit-codes.js';
import { BriError, ErrorCodes, isBriError, shellArg, type ErrorCode } from '../../errors.js';
import { timeTravelHandlers } from './time-travel.js';
import type { ArchiveCommon, CommandOptions, CommandsOf, Handlers } from '../options.js';
import { formatBytes, formatTable, formatTime, printJson, printLine, printWarning } from '../output.js';
import { lineSpan } from '../../format/text/line-range.js';
import { progressBar } from '../progress.js';
import { ARCHIVE_HEADERS, archiveJson, cleanupLines, heldBackLines, unlistedSourceLine, unreadableKeptLines, archiveRow, checkedText, copiesSummary, listingExitCode, listingProblemsJson, manifestSummary, reportAfterSteps, reachLine, reportListingProblems, reportUploads, uploadJson } from './archive-text.js';

/** The API for one command, closed when it is done (remote clients keep sockets open). */
async function withArchive(o: ArchiveCommon, purpose: string, fn: (api: ArchiveApi) => Promise<number>): Promise<number> {
  const api = await openOfflineArchive({
    dataDir: o.dataDir,
    purpose,
    ...(o.configFile !== undefined ? { configFile: o.configFile } : {}),
    ...(o.archiveDir !== undefined ? { archiveDir: o.archiveDir } : {}),
    archiveDirMayBeNew: purpose === 'bri archive create',
  });
  try {
    return await fn(api);
  } finally {
    await api.close().catch(() => undefined);
  }
}

const only = (source: string | undefined) => (source !== undefined ? { source } : {});

/**
 * The commands that mend the copy verified (`file`): a local file is repaired in place; repair never writes
 * to a remote, so a remote's copy is replaced by a whole one: the local copy, else its own, repaired on download.
 */
async function repairCommand(api: ArchiveApi, target: string, file: string | null): Promise<string> {
  const entry = target.includes('/') || target.endsWith('.bri') ? null : await api.get(target).catch(() => null);
  const remote = entry?.copies.find((c) => c.location === file && c.source !== 'local');
  if (!entry || !remote) return `bri archive repair ${shellArg(target)} --in-place`;
  const s = remote.source;
  const replace = `bri archive delete ${shellArg(target)} --source ${s}, then bri archive upload ${shellArg(target)} --source ${s}`;
  if (entry.copies.some((c) => c.source === 'local')) return `replace the copy on ${s} with the local one: ${replace}`;
  return `bri archive download ${shellArg(target)} ${shellArg(path.join(api.archiveDir, `${target}.bri`))} --source ${s} (repairs it on the way), then ${replace}`;
}

/**
 * The commands that replace failed copies of an archive from the whole one on `whole` (never the local copy: it is
 * verified first): download it into the archive directory, then each failed remote copy is deleted and uploaded again.
 */
function replaceFrom(archiveDir: string, id: string, failed: readonly string[], whole: string): string {
  const remotes = failed.filter((s) => s !== 'local');
  const again = remotes.flatMap((s) => [`bri archive delete ${id} --source ${s}`, `bri archive upload ${id} --source ${s}`]);
  return [`bri archive download ${id} ${shellArg(path.join(archiveDir, `${id}.bri`))} --source ${whole}`, ...again].join(', then ');
}

/** What a verify answers of failed copies whose archive a later source holds whole: not lost, and how to mend them. */
function wholeElsewhereLine(archiveDir: string, id: string, failed: ReadonlyArray<{ source: string }>, whole: string): string {
  const bad = [...new Set(failed.map((f) => f.source))];
  return `archive ${id} is whole on ${whole} (restore and download use it); to replace the failed ${bad.length > 1 ? 'copies' : 'copy'} (${bad.join(', ')}) from it: ${replaceFrom(archiveDir, id, bad, whole)}`;
}

/** Failed copies of archives whole on another source are mended, not lost: repairable's 24 at worst, whatever their own damage. */
const THAW_TEXT: Record<NonNullable<ThawStatus['outcome']>, string> = {
  readable: 'readable now',
  requested: 'restore requested',
  'in-progress': 'restore in progress',
  'no-copy': 'no copy there',
};

/** `bri archive verify --all`: a line per archive as it is verified (problems on stderr), then what it comes to. */
/** A failed copy's lines under its FAILED line: the verify's problems, or the error that stopped it and what to do. */
function copyProblems(v: { report: { problems: readonly string[] } | null; error: { code: string; message: string; hint?: string } | null }): string {
  const lines = v.report ? v.report.problems : [`[${v.error!.code}] ${v.error!.message}`, ...(v.error!.hint ? [`hint: ${v.error!.hint}`] : [])];
  return lines.map((p) => `  ${p}\n`).join('');
}

async function verifyEvery(api: ArchiveApi, o: CommandOptions['archive verify']): Promise<number> {
  const r = await api.verifyAll({
    ...only(o.source),
    ...(o.identity !== undefined ? { identity: o.identity } : {}),
    deep: o.deep,
    onVerified(v) {
      if (o.json) return;
      const name = v.archiveId ?? v.file ?? '?';
      if (v.ok && v.report) printLine(`OK      ${name} (${v.source}): ${checkedText(v.report.checked)}`, o);
      else {
        process.stderr.write(`FAILED  ${name} (${v.source}${v.file ? `: ${v.file}` : ''})\n${copyProblems(v)}`);
        if (v.report?.repairable) process.stderr.write(`  to repair it: bri archive repair ${shellArg(v.report.file)} --in-place\n`);
      }
    },
  });
  if (o.json) printJson(r);
  else {
    const failed = r.archives.filter((v) => !v.ok).length;
    for (const u of r.unreachable) process.stderr.write(`NOT LISTED  ${u.source}: [${u.error.code}] ${u.error.message}\n${u.error.hint ? `  hint: ${u.error.hint}\n` : ''}`);
    // Copies are counted as copies: a damaged local copy followed by a whole remote one is one archive, two copies.
    const ids = new Set(r.archives.map((v) => v.archiveId ?? v.file));
    const copies = ids.size === r.archives.length ? '' : ` (${r.archives.length} copies)`;
    const counts = r.archives.length === 0 ? 'no archives to verify' : `${ids.size} archives verified${copies}: ${r.archives.length - failed} whole, ${failed} failed`;
    const line = `${counts}${r.unreachable.length ? `; ${r.unreachable.length} sources not listed` : ''}`;
    if (r.ok) printLine(line, o);
    else process.stderr.write(line + '\n');
    for (const id of new Set(r.archives.filter((v) => v.wholeOn !== undefined).map((v) => v.archiveId!))) {
      const failed = r.archives.filter((v) => v.archiveId === id && v.wholeOn !== undefined);
      process.stderr.write(`  ${wholeElsewhereLine(api.archiveDir, id, failed, failed[0]!.wholeOn!)}\n`);
    }
  }
  return outcomeExitCode.archiveVerifyAll(r);
}

/**
 * `archive create` with nothing new: not a failure (a cron job on a quiet database would alarm every hour), said
 * on stderr, or as one document with archiveId null under --json. What an earlier run left and this one did again
 * (an upload, the cleanup, the pruning) is said as after an archive, and a failed step is the exit code.
 */
function nothingNew(err: BriError, o: CommandOptions['archive create']): number {
  const steps = { uploads: [], ...(err.details.afterSteps as Partial<Pick<CreatedAndStored, 'uploads' | 'cleanup' | 'prune'>> | undefined), hookErrors: [] };
  const heldBy = err.details.heldBy as { archiveId: string; endLine: number } | null | undefined;
  const reason = heldBy ? `nothing to archive: ${heldBy.archiveId} already holds everything through line ${heldBy.endLine}` : err.message;
  if (o.json) printJson({ archiveId: null, reason, uploads: steps.uploads.map(uploadJson), cleanup: steps.cleanup ?? null, prune: steps.prune ?? null, hookErrors: steps.hookErrors });
  else if (!o.quiet) process.stderr.write(`${reason}\n`);
  reportUploads(steps.uploads, o);
  reportAfterSteps(steps, o);
  return outcomeExitCode.created(steps);
}

export const handlers: Handlers<CommandsOf<'archive'>> = {
  'archive create': (o) =>
    withArchive(o, 'bri archive create', async (api) => {
      const bar = progressBar(!o.json && !o.quiet);
      try {
        const created = await api.create({
          ...(o.name !== undefined ? { name: o.name } : {}),
          ...(o.retention !== undefined ? { retention: o.retention } : {}),
          ...(o.level !== undefined ? { level: o.level } : {}),
          ...(bar.listener ? { onProgress: bar.listener } : {}),
        });
        bar.stop();
        if (o.json) printJson({ archiveId: created.archiveId, file: created.file, bytes: created.bytes, gap: created.gap, warnings: created.warnings, uploads: created.uploads.map(uploadJson), cleanup: created.cleanup ?? null, prune: created.prune ?? null, hookErrors: created.hookErrors, manifest: created.manifest });
        else printLine(`created ${created.file}\n${manifestSummary(created.manifest, created.bytes)}`, o);
        // Under --json the document holds the warnings and the gap: stderr stays JSON.
        if (!o.json) for (const w of created.warnings) process.stderr.write(`WARNING: ${w}\n`);
        if (created.gap && !o.json) process.stderr.write(`WARNING: lines ${created.gap.fromLine}..${created.gap.toLine} are in no archive: ${created.gap.reason}. Times within them cannot be restored; their effect is in this archive's starting state.\n`);
        reportUploads(created.uploads, o);
        reportAfterSteps(created, o);
        return outcomeExitCode.created(created);
      } catch (err) {
        if (!isBriError(err, ErrorCodes.NOTHING_TO_ARCHIVE)) throw err;
        bar.stop();
        return nothingNew(err, o);
      } finally {
        bar.stop();
      }
    }),

  'archive list': (o) =>
    withArchive(o, 'bri archive list', async (api) => {
      const listing = await api.scan(only(o.source));
      if (o.json) {
        printJson({ archives: listing.archives.map(archiveJson), ...listingProblemsJson(listing) });
        return listingExitCode(listing, o.source === undefined ? null : [o.source]);
      }
      printLine(listing.archives.length ? formatTable(ARCHIVE_HEADERS, listing.archives.map(archiveRow)) : 'no archives', o);
      reportListingProblems(listing);
      return listingExitCode(listing, o.source === undefined ? null : [o.source]);
    }),

  'archive get': (o) =>
    withArchive(o, 'bri archive get', async (api) => {
      const a = await api.get(o.id, only(o.source));
      if (o.json) printJson(archiveJson(a));
      else printLine(`${manifestSummary(a.manifest, a.bytes)}\n${copiesSummary(a)}`, o);
      return EXIT_OK;
    }),

  'archive inspect': (o) =>
    withArchive(o, 'bri archive inspect', async (api) => {
      const manifest = await api.inspect(o.file);
      if (o.json) printJson(manifest);
      else printLine(manifestSummary(manifest), o);
      return EXIT_OK;
    }),

  'archive verify': (o) =>
    withArchive(o, 'bri archive verify', async (api) => {
      if (o.target === undefined) return verifyEvery(api, o);
      const bar = progressBar(!o.json && !o.quiet);
      const report = await api.verify(o.target, { ...only(o.source), ...(bar.listener ? { onProgress: bar.listener } : {}), ...(o.identity !== undefined ? { identity: o.identity } : {}), deep: o.deep });
      bar.stop();
      if (o.json) printJson(report);
      else if (report.ok) {
        printLine(`OK ${report.archiveId}: ${report.checked.members} members, ${checkedText(report.checked)}, ${report.checked.neighbours} neighbours checked`, o);
      } else {
        process.stderr.write(`FAILED ${report.file}${report.error ? ` [${report.error.code}]` : ''}\n`);
        for (const p of report.problems) process.stderr.write(`  ${p}\n`);
        if (report.repairable) process.stderr.write(`  to repair it: ${await repairCommand(api, o.target, report.file)}\n`);
        for (const v of report.otherCopies ?? []) {
          if (v.ok) printLine(`OK ${o.target} on ${v.source} (${v.file}): ${checkedText(v.report!.checked)}`, o);
          else process.stderr.write(`FAILED ${v.file} (${v.source})\n${copyProblems(v)}`);
        }
        const failed = [{ source: report.source ?? 'local' }, ...(report.otherCopies ?? []).filter((v) => !v.ok)];
        if (report.wholeOn !== undefined) process.stderr.write(`${wholeElsewhereLine(api.archiveDir, o.target, failed, report.wholeOn)}\n`);
      }
      return outcomeExitCode.archiveVerify(report);
    }),

  'archive delete': (o) =>
    withArchive(o, 'bri archive delete', async (api) => {
      const r = await api.delete(o.id, { ...only(o.source), force: o.force });
      if (o.json) printJson(r);
      else printLine(r.deleted.map((d) => `deleted ${d.source}: ${d.location}`).join('\n'), o);
      if (!o.json) for (const w of r.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
      return EXIT_OK;
    }),

  'archive upload': (o) =>
    withArchive(o, 'bri archive upload', async (api) => {
      const bar = progressBar(!o.json && !o.quiet);
      let uploads: CopyStatus[];
      try {
        uploads = await api.upload({ ...(o.id !== undefined ? { archiveId: o.id } : {}), ...only(o.source), ...(bar.listener ? { onProgress: bar.listener } : {}) });
      } finally {
        bar.stop();
      }
      if (o.json) printJson({ uploads: uploads.map(uploadJson) });
      else if (uploads.length === 0) printLine('every archive is confirmed on every remote', o);
      reportUploads(uploads, o);
      return outcomeExitCode.uploads(uploads);
    }),

  'archive stats': (o) =>
    withArchive(o, 'bri archive stats', async (api) => {
      const s = await api.stats(only(o.source));
      const shipping = await api.shippingReport();
      if (o.json) {
        printJson({ ...s, ...listingProblemsJson(s), shipping });
        return outcomeExitCode.stats(s);
      }
      reportListingProblems(s);
      printLine(
        [
          `archives    ${s.archives}`,
          `size        ${formatBytes(s.bytes)} (from ${formatBytes(s.originalBytes)}${s.bytes ? `, ${(s.originalBytes / s.bytes).toFixed(1)}x` : ''})`,
          `lines       ${s.firstLine === null ? '-' : lineSpan(s.firstLine - 1, s.lastLine ?? s.firstLine - 1)} (${s.instanceWalLines === s.walLines ? `${s.walLines} in all` : `${s.instanceWalLines} in this instance's archives, ${s.walLines} in all`})${s.instance ? `, instance ${s.instance}` : ''}`,
          `time range  ${formatTime(s.oldest?.getTime())} .. ${formatTime(s.newest?.getTime())}`,
          `gaps        ${s.gaps.length ? s.gaps.map((g) => (g.toLine >= g.fromLine ? `lines ${g.fromLine}..${g.toLine} missing between ${g.after} and ${g.before}` : `lines ${g.toLine + 1}..${g.fromLine - 1} in both ${g.after} and ${g.before}`)).join('; ') : 'none'}${s.unreadable.length ? ` among the archives that can be read (${unreadableCount(s.unreadable)})` : ''}`,
          ...(s.otherDatabases.archives ? [`others      ${s.otherDatabases.archives} archives of other databases on the same sources (instances ${s.otherDatabases.instances.join(', ')}), not counted`] : []),
          ...shipping.map(reachLine),
        ].join('\n'),
        o,
      );
      return outcomeExitCode.stats(s);
    }),

  'archive prune': (o) =>
    withArchive(o, 'bri archive prune', async (api) => {
      const r = await api.prune({ dryRun: o.dryRun });
      if (o.json) {
        printJson({ ...r, failed: r.failed.map((f) => ({ ...f, error: f.error.toJSON() })), unreachable: r.unreachable.map((u) => ({ ...u, error: u.error.toJSON() })), unreadable: r.unreadable.map((u) => ({ ...u, error: u.error.toJSON() })) });
        return outcomeExitCode.prune(r);
      }
      for (const u of r.unreachable) process.stderr.write(unlistedSourceLine(u));
      if (!r.policyConfigured && r.removed.length === 0 && r.failed.length === 0 && r.unreachable.length === 0 && r.unreadable.length === 0) {
        printLine("no retention policy is configured (keepLocal, retentionDays, a remote's retentionDays in --config): nothing expires, nothing was removed", o);
        return EXIT_OK;
      }
      const verb = r.dryRun ? 'would remove' : 'removed';
      const others = r.kept.filter((d) => d.reason === 'other-database');
      const here = others.filter((d) => d.source === 'local').length;
      const where = [here ? `${here} in this archive directory` : '', others.length - here ? `${others.length - here} on a shared remote` : ''].filter(Boolean).join(', ');
      const left = others.length ? ` (${others.length} of them of other databases' archives, ${where}, left to their own retention)` : '';
      printLine([...r.removed.map((d) => `${verb} ${d.source}: ${d.archiveId} (${d.reason})`), `${r.removed.length} ${r.dryRun ? 'to remove' : 'removed'}, ${r.kept.length} copies kept${left}`, ...heldBackLines(r.kept), ...unreadableKeptLines(r.unreadable)].join('\n'), o);
      for (const f of r.failed) process.stderr.write(`could not remove ${f.source}: ${f.archiveId}: [${f.error.code}] ${f.error.message}\n`);
      return outcomeExitCode.prune(r);
    }),

  'archive cleanup-wal': (o) =>
    withArchive(o, 'bri archive cleanup-wal', async (api) => {
      const r = await api.cleanupWal();
      if (o.json) printJson(r);
      else printLine(cleanupLines(r).join('\n'), o);
      return EXIT_OK;
    }),

  'archive repair': (o) =>
    withArchive(o, 'bri archive repair', async (api) => {
      const r = await api.repair(o.target, { ...(o.out !== undefined ? { out: o.out } : {}), inPlace: o.inPlace, force: o.force });
      if (o.json) printJson(r);
      else if (!r.repaired) printLine(`${r.file}: intact, nothing to repair (${r.recoveryBlocksAvailable} recovery blocks available)`, o);
      else if (!r.dataRepaired) printLine(`the data is intact; wrote the recovery data again (${r.problems.join('; ')}) into ${r.file}`, o);
      else if (r.damagedBlocks === 0) printLine(`repaired ${r.problems.join('; ')}; wrote the recovery data again into ${r.file}`, o);
      else printLine(`repaired ${r.repairedBlocks} of ${r.damagedBlocks} damaged blocks (${r.recoveryBlocksAvailable} recovery blocks available)${r.recoveryDataDamaged ? ' and wrote the recovery data again' : ''} into ${r.file}`, o);
      return EXIT_OK;
    }),

  'archive thaw': (o) =>
    withArchive(o, 'bri archive thaw', async (api) => {
      const statuses = await api.thaw({
        ...(o.id !== undefined ? { archiveId: o.id } : { all: true }),
        ...only(o.source),
        ...(o.days !== undefined ? { days: o.days } : {}),
        ...(o.tier !== undefined ? { tier: o.tier } : {}),
      });
      if (o.json) printJson({ thaw: statuses.map((s) => ({ archiveId: s.archiveId, source: s.source, ...(s.outcome ? { outcome: s.outcome } : {}), ...(s.error ? { error: s.error.toJSON() } : {}) })) });
      else if (statuses.length === 0) printLine('no archives on the remotes', o);
      else printLine(formatTable(['ARCHIVE', 'SOURCE', 'STATE'], statuses.map((s) => [s.archiveId, s.source, s.outcome ? THAW_TEXT[s.outcome] : `FAILED: [${s.error!.code}] ${s.error!.message}`])), o);
      return outcomeExitCode.thaw(statuses);
    }),

  'archive rekey': (o) =>
    withArchive(o, 'bri archive rekey', async (api) => {
      const passphrase = o.passphrase ? process.env.BRI_AGE_NEW_PASSPHRASE : undefined;
      if (o.passphrase && !passphrase) throw new BriError(ErrorCodes.USAGE, '--passphrase reads the new passphrase from $BRI_AGE_NEW_PASSPHRASE, which is not set', { hint: 'Set BRI_AGE_NEW_PASSPHRASE (never on the command line: other users could read it).' });
      const r = await api.rekey({ recipients: o.recipients, ...(passphrase ? { passphrase } : {}), ...(o.identity !== undefined ? { identity: o.identity } : {}), ...(o.id !== undefined ? { archiveId: o.id } : {}), ...only(o.source) });
      if (o.json) printJson(r);
      else {
        const lines = r.archives.map((a) => `rekeyed ${a.archiveId}: ${[...a.sources, ...a.alreadyNew.map((s) => `${s} (for the new recipients already)`)].join(', ') || 'no copy replaced (see the failures below)'}`);
        lines.push(`${r.shipments} shipments, ${r.seeds} seeds rekeyed${r.shipmentsAlreadyNew ? ` (${r.shipmentsAlreadyNew} shipments were for the new recipients already)` : ''}${r.notEncrypted.length ? `; not encrypted, left as they are: ${r.notEncrypted.join(', ')}` : ''}`);
        const alone = r.leftAlone;
        if (alone.archives.length || alone.shipments) lines.push(`left alone: ${alone.archives.length} archives and ${alone.shipments} shipments of other databases (instances ${alone.instances.join(', ')})`);
        lines.push(passphrase ? 'Set archive.encryption.passphrase to the new passphrase (BRI_AGE_PASSPHRASE for restores).' : 'Set archive.encryption.recipients to the new recipients, so that new archives are encrypted for them.');
        printLine(lines.join('\n'), o);
      }
      if (!o.json) for (const f of r.failures) process.stderr.write(`rekey failed on ${f.source}${f.archiveId ? ` (${f.archiveId})` : ''}: ${f.code ? `[${f.code}] ` : ''}${f.error}; ${f.state}\n${f.hint ? `hint: ${f.hint}\n` : ''}`);
      // A wrong identity keeps its own exit code (12) when it is what stopped an archive.
      const coded = r.failures.find((f) => f.code !== undefined);
      return coded ? exitCodeFor(coded.code as ErrorCode) : r.failures.length ? 1 : EXIT_OK;
    }),

  'archive history': timeTravelHandlers['archive history'],
  'archive show': timeTravelHandlers['archive show'],

  'archive download': (o) =>
    withArchive(o, 'bri archive download', async (api) => {
      const a = await api.download(o.id, o.file, {
        ...only(o.source),
        verify: o.verify,
        force: o.force,
        onProblem: (p) => printWarning(`${p.source}: ${p.reason}; trying the next source`, o.json, { source: p.source, reason: p.reason }),
      });
      if (o.json) printJson(a);
      else printLine(`wrote ${a.file} (${formatBytes(a.bytes)}) from ${a.source}${a.repaired ? `, repaired ${a.repaired.repairedBlocks} blocks with PAR2` : ''}`, o);
      return EXIT_OK;
    }),
};

/** How many archives cannot be read, not copies: one archive unreadable on two sources is one. */
function unreadableCount(copies: ReadonlyArray<{ location: string; archiveId?: string }>): string {
  const archives = new Set(copies.map((u) => u.archiveId ?? path.basename(u.location).replace(/\.bri$/, ''))).size;
  return copies.length === archives ? `${archives} cannot` : `${archives} cannot, ${copies.length} copies`;
}

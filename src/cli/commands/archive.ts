/** `bri archive create|list|get|verify|inspect|delete|stats|download|upload|repair|thaw`. */
import type { Command } from 'commander';
import type { CreatedAndStored } from '../../archive/archive-api.js';
import type { CopyStatus } from '../../archive/copies/upload.js';
import type { CatalogArchive } from '../../archive/copies/catalog.js';
import type { Manifest } from '../../format/manifest.js';
import { BriError, ErrorCodes } from '../../errors.js';
import { assertDataDir } from '../../store/data-dir.js';
import type { ParsedRetention } from '../../format/input.js';
import { addDataDirOption, addOutputOptions, commonOptions, parseOpt, type CommonOptions } from '../common.js';
import { EXIT_FAILURE as EXIT_FAILURE_CODE, EXIT_REPAIRABLE, exitCodeFor } from '../exit-codes.js';
import { formatBytes, formatTable, formatTime, printJson, printLine } from '../output.js';
import { progressBar } from '../progress.js';
import { addArchiveDirOption, api, sourceOpt } from './archive-common.js';
import { registerThawCommand } from './archive-thaw.js';

/** Failed uploads go to stderr, with what happens next; the exit code says it too. */
export function reportUploads(uploads: CopyStatus[], opts: CommonOptions): void {
  for (const u of uploads) {
    if (u.outcome === 'failed') {
      process.stderr.write(
        `upload of ${u.archiveId} to ${u.source} FAILED: [${u.error?.code}] ${u.error?.message}\n${u.error?.hint ? `  hint: ${u.error.hint}\n` : ''}  the archive is kept locally and not counted as stored on ${u.source}; the next create or \`bri archive upload\` tries again\n`,
      );
    } else if (!opts.quiet && !opts.json && u.outcome !== 'recorded-before') {
      process.stderr.write(`${u.outcome === 'uploaded' ? 'uploaded' : 'already on'} ${u.source}: ${u.archiveId} (${u.record?.checksum.algorithm} confirmed)\n`);
    }
  }
  if (uploads.some((u) => u.outcome === 'failed')) process.exitCode = exitCodeFor(ErrorCodes.REMOTE_ERROR);
}

/** The lines an archive holds; one that holds a state and no line says so. */
function lineRange(m: Manifest): string {
  const { start, end } = m.timeRange.walLines;
  return end === start ? `none (the state at line ${start})` : `${start + 1}..${end}`;
}

/** One line per archive, the summary people read. */
export function archiveRow(a: { manifest: Manifest; bytes: number; copies?: CatalogArchive['copies'] }): Array<string | number> {
  const m = a.manifest;
  const ratio = m.compression.compressedSize > 0 ? (m.compression.originalSize / m.compression.compressedSize).toFixed(1) + 'x' : '-';
  return [
    m.archiveId,
    m.name ?? '',
    `${formatTime(m.timeRange.start.getTime())} .. ${formatTime(m.timeRange.end.getTime())}`,
    lineRange(m),
    formatBytes(m.compression.originalSize),
    formatBytes(a.bytes),
    ratio,
    (a.copies ?? []).map((c) => c.source).join(',') || 'local',
  ];
}

export const ARCHIVE_HEADERS = ['id', 'name', 'time range', 'lines', 'original', 'size', 'ratio', 'copies'];

export function archiveJson(a: CatalogArchive): Record<string, unknown> {
  return { file: a.file, bytes: a.bytes, copies: a.copies, manifest: a.manifest };
}

/** Copies that cannot be read and sources that cannot be reached, on stderr. */
export function reportListingProblems(l: { unreadable: Array<{ location: string; source: string; error: BriError }>; unreachable: Array<{ source: string; error: BriError }> }): void {
  for (const u of l.unreadable) process.stderr.write(`unreadable: ${u.source}: ${u.location}: [${u.error.code}] ${u.error.message}\n`);
  for (const u of l.unreachable) process.stderr.write(`unreachable: ${u.source}: [${u.error.code}] ${u.error.message}\n`);
}

export function listingProblemsJson(l: { unreadable: Array<{ location: string; source: string; error: BriError }>; unreachable: Array<{ source: string; error: BriError }> }): Record<string, unknown> {
  return {
    unreadable: l.unreadable.map((u) => ({ source: u.source, location: u.location, error: u.error.toJSON() })),
    unreachable: l.unreachable.map((u) => ({ source: u.source, error: u.error.toJSON() })),
  };
}

function copiesSummary(a: CatalogArchive): string {
  const state = (c: CatalogArchive['copies'][number]) => (c.frozen ? ', in an archive tier: `bri archive thaw` first' : c.damaged ? ', its manifest is damaged' : '');
  return a.copies.map((c) => `copy        ${c.source}: ${c.location} (${formatBytes(c.bytes)}${c.source !== 'local' && c.recorded ? ', upload confirmed here' : ''}${state(c)})`).join('\n');
}

export function manifestSummary(m: Manifest, bytes?: number): string {
  const s = m.stats;
  return [
    `archive     ${m.archiveId}${m.name ? ` (${m.name})` : ''}`,
    `instance    ${m.instanceId}`,
    `previous    ${m.previousArchiveId ?? '(first of its chain)'}`,
    `time range  ${formatTime(m.timeRange.start.getTime())} .. ${formatTime(m.timeRange.end.getTime())}`,
    `lines       ${lineRange(m)} (${m.contents.totalWalEntries} entries in ${m.contents.segments.length} segments)`,
    `snapshot    at line ${m.contents.snapshot.walLine}, ${s.documentsAtSnapshot ?? '?'} documents${m.contents.snapshot.encrypted ? ', encrypted' : ''}`,
    `operations  ${s.byOperation ? Object.entries(s.byOperation).map(([k, v]) => `${k} ${v}`).join(', ') : 'unknown (encrypted)'}`,
    `chain       ${m.chain.prevPointer || '(start)'} -> ${m.chain.firstPointer} .. ${m.chain.lastPointer}${m.chain.verified ? '' : ' (not verified: encrypted)'}`,
    `size        ${formatBytes(m.compression.originalSize)} -> ${formatBytes(m.compression.compressedSize)} zstd-${m.compression.level}${bytes ? `, file ${formatBytes(bytes)}` : ''}`,
    `recovery    ${m.errorCorrection.enabled ? `par2, ${Math.round(m.errorCorrection.redundancy * 100)}%, ${m.errorCorrection.recoveryBlockCount} blocks of ${m.errorCorrection.blockSize} bytes` : 'none'}`,
    `created     ${formatTime(m.createdAt.getTime())} by ${m.createdBy}`,
    `retention   ${m.permanent ? 'permanent' : m.retentionUntil ? `until ${formatTime(m.retentionUntil.getTime())}` : 'policy'}`,
  ].join('\n');
}

export function registerArchiveCommands(program: Command): void {
  const archive = program.command('archive').description('create, list, verify and manage archives');
  const cmd = (name: string) => addOutputOptions(addArchiveDirOption(addDataDirOption(archive.command(name))));

  cmd('create')
    .description('archive the WAL since the previous archive (the data directory must not be open elsewhere)')
    .option('-n, --name <name>', 'a name for the archive')
    .option('-r, --retention <when>', "'permanent', a number of days (30d) or a date (2027-01-01: midnight UTC)", parseOpt.retention('--retention'))
    .option('-l, --level <n>', 'zstd level 1..22', parseOpt.integer('--level', 1, 22))
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      await assertDataDir(opts.dataDir, false);
      const bar = progressBar(!opts.json && !opts.quiet);
      try {
        const created = await api(raw, opts, 'bri archive create').create({
          ...(raw.name !== undefined ? { name: String(raw.name) } : {}),
          ...(raw.retention !== undefined ? { retention: raw.retention as ParsedRetention } : {}),
          ...(raw.level !== undefined ? { level: raw.level as number } : {}),
          ...(bar.listener ? { onProgress: bar.listener } : {}),
        });
        bar.stop();
        if (opts.json) printJson({ archiveId: created.archiveId, file: created.file, bytes: created.bytes, gap: created.gap, uploads: created.uploads.map(uploadJson), cleanup: created.cleanup ?? null, prune: created.prune ?? null, hookErrors: created.hookErrors, manifest: created.manifest });
        else printLine(`created ${created.file}\n${manifestSummary(created.manifest, created.bytes)}`, opts);
        if (created.gap) process.stderr.write(`WARNING: lines ${created.gap.fromLine}..${created.gap.toLine} are in no archive: ${created.gap.reason}. Times within them cannot be restored; their effect is in this archive's starting state.\n`);
        reportUploads(created.uploads, opts);
        reportAfterSteps(created, opts);
      } finally {
        bar.stop();
      }
    });

  cmd('list')
    .description('the archives of every source (or --source), merged by id, oldest first, with where each copy is')
    .option('-s, --source <name>', "only this source: 'local', a remote's name, or a provider (s3, gcs, azure)")
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const listing = await api(raw, opts, 'bri archive list').scan(sourceOpt(raw));
      if (opts.json) {
        printJson({ archives: listing.archives.map(archiveJson), ...listingProblemsJson(listing) });
        return;
      }
      printLine(listing.archives.length ? formatTable(ARCHIVE_HEADERS, listing.archives.map(archiveRow)) : 'no archives', opts);
      reportListingProblems(listing);
    });

  cmd('get')
    .argument('<id>', 'archive id')
    .option('-s, --source <name>', 'only this source')
    .description("an archive's manifest and where its copies are")
    .action(async (id: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const a = await api(raw, opts, 'bri archive get').get(id, sourceOpt(raw));
      if (opts.json) printJson(archiveJson(a));
      else printLine(`${manifestSummary(a.manifest, a.bytes)}\n${copiesSummary(a)}`, opts);
    });

  cmd('inspect')
    .argument('<file>', 'archive file')
    .description('the manifest summary of an archive file, without unpacking it')
    .action(async (file: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const manifest = await api(raw, opts, 'bri archive inspect').inspect(file);
      if (opts.json) printJson(manifest);
      else printLine(manifestSummary(manifest), opts);
    });

  cmd('verify')
    .argument('<id|file>', 'archive id or file')
    .option('-s, --source <name>', 'verify the copy on this source (downloaded to a temp file)')
    .description('checksums, manifest against members, chain (inside and with neighbours), snapshot, sizes')
    .action(async (target: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const archives = api(raw, opts, 'bri archive verify');
      const bar = progressBar(!opts.json && !opts.quiet);
      const report = await archives.verify(target, { ...sourceOpt(raw), ...(bar.listener ? { onProgress: bar.listener } : {}) });
      bar.stop();
      if (opts.json) printJson(report);
      else if (report.ok) {
        printLine(
          `OK ${report.archiveId}: ${report.checked.members} members, ${report.checked.walLines} WAL lines, chain ${report.checked.chain}, snapshot ${report.checked.snapshot}, ${report.checked.neighbours} neighbours checked`,
          opts,
        );
      } else {
        process.stderr.write(`FAILED ${report.file}${report.error ? ` [${report.error.code}]` : ''}\n`);
        for (const p of report.problems) process.stderr.write(`  ${p}\n`);
        if (report.repairable) process.stderr.write(`  to repair it: bri archive repair ${target} --in-place\n`);
      }
      // Repairable damage has its own code (also when the data is intact and only the recovery data is hurt).
      if (!report.ok) process.exitCode = report.repairable ? EXIT_REPAIRABLE : report.error ? exitCodeFor(report.error.code as never) : exitCodeFor(ErrorCodes.ARCHIVE_CORRUPTED);
    });

  cmd('delete')
    .argument('<id>', 'archive id')
    .option('-s, --source <name>', "delete only the copy on this source ('local', a remote's name or a provider)")
    .option('-f, --force', 'delete a permanent archive, or the last copy of lines no longer in wal/', false)
    .description('delete an archive: every copy, or the one on --source')
    .action(async (id: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const r = await api(raw, opts, 'bri archive delete').delete(id, { ...sourceOpt(raw), force: raw.force === true });
      if (opts.json) printJson(r);
      else printLine(r.deleted.map((d) => `deleted ${d.source}: ${d.location}`).join('\n'), opts);
    });

  cmd('upload')
    .argument('[id]', 'archive id (default: every local archive some remote has no confirmed copy of)')
    .option('-s, --source <name>', 'only to this remote')
    .description('upload local archives to the remotes (what a failed upload left), confirmed by size and checksum')
    .action(async (id: string | undefined, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const a = api(raw, opts, 'bri archive upload');
      if (a.sources.remotes.length === 0) throw new BriError(ErrorCodes.USAGE, 'no remote is configured', { hint: 'Give the remotes with --config <file> ({ "remotes": [...] }).' });
      const bar = progressBar(!opts.json && !opts.quiet);
      let uploads: CopyStatus[];
      try {
        uploads = await a.upload({ ...(id !== undefined ? { archiveId: id } : {}), ...sourceOpt(raw), ...(bar.listener ? { onProgress: bar.listener } : {}) });
      } finally {
        bar.stop();
      }
      if (opts.json) printJson({ uploads: uploads.map(uploadJson) });
      else if (uploads.length === 0) printLine('every archive is confirmed on every remote', opts);
      reportUploads(uploads, { ...opts, quiet: opts.quiet || opts.json });
    });

  cmd('stats')
    .description('archive count, sizes, covered lines and gaps')
    .option('-s, --source <name>', 'only this source')
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const a = api(raw, opts, 'bri archive stats');
      const s = await a.stats(sourceOpt(raw));
      const shipping = await a.shippingReport();
      // Figures that leave out an archive that cannot be read are not the whole answer: said, and exit 1.
      if (s.unreadable.length > 0) process.exitCode = EXIT_FAILURE_CODE;
      if (opts.json) return printJson({ ...s, ...listingProblemsJson(s), shipping });
      reportListingProblems(s);
      printLine(
        [
          `archives    ${s.archives}`,
          `size        ${formatBytes(s.bytes)} (from ${formatBytes(s.originalBytes)}${s.bytes ? `, ${(s.originalBytes / s.bytes).toFixed(1)}x` : ''})`,
          `lines       ${s.firstLine === null ? '-' : `${s.firstLine + 1}..${s.lastLine}`} (${s.walLines})`,
          `time range  ${formatTime(s.oldest?.getTime())} .. ${formatTime(s.newest?.getTime())}`,
          `gaps        ${s.gaps.length ? s.gaps.map((g) => (g.toLine > g.fromLine ? `lines ${g.fromLine + 1}..${g.toLine} missing between ${g.after} and ${g.before}` : `lines ${g.toLine + 1}..${g.fromLine} in both ${g.after} and ${g.before}`)).join('; ') : 'none'}${s.unreadable.length ? ` among the archives that can be read (${s.unreadable.length} cannot)` : ''}`,
          ...shipping.map(
            (r) =>
              `shipped     ${r.source}: ${r.error ? `unknown (${r.error})` : r.shippedThrough === null ? 'nothing yet (no archive there to continue)' : `through line ${r.shippedThrough}${r.shippedTimestamp ? ` (${formatTime(r.shippedTimestamp)})` : ''}, ${r.lagLines} lines / ${r.lagSeconds.toFixed(1)} s behind the data directory (line ${r.endLine})`}`,
          ),
        ].join('\n'),
        opts,
      );
    });

  cmd('prune')
    .option('--dry-run', 'say what would be removed, remove nothing', false)
    .description('apply the retention policy of --config (keepLocal, retentionDays, each remote\'s retentionDays); never a permanent archive or the newest')
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const r = await api(raw, opts, 'bri archive prune').prune({ dryRun: raw.dryRun === true });
      if (opts.json) return printJson({ ...r, failed: r.failed.map((f) => ({ ...f, error: f.error.toJSON() })) });
      if (!r.policyConfigured) {
        printLine('no retention policy is configured (keepLocal, retentionDays, a remote\'s retentionDays in --config): nothing expires, nothing was removed', opts);
        return;
      }
      const verb = r.dryRun ? 'would remove' : 'removed';
      printLine([...r.removed.map((d) => `${verb} ${d.source}: ${d.archiveId} (${d.reason})`), `${r.removed.length} ${r.dryRun ? 'to remove' : 'removed'}, ${r.kept.length} copies kept`].join('\n'), opts);
      for (const f of r.failed) process.stderr.write(`could not remove ${f.source}: ${f.archiveId}: [${f.error.code}] ${f.error.message}\n`);
      if (r.failed.length) process.exitCode = exitCodeFor(r.failed[0]!.error.code);
    });

  cmd('cleanup-wal')
    .description('remove the WAL segments whose every line is archived and stored everywhere (the database must not be open)')
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      await assertDataDir(opts.dataDir, false);
      const r = await api(raw, opts, 'bri archive cleanup-wal').cleanupWal();
      if (opts.json) return printJson(r);
      printLine(r.segments.length ? `removed ${r.segments.length} segments (${r.lines} lines, archived through line ${r.safeLine}): ${r.segments.join(', ')}` : `nothing to remove (archived and stored everywhere through line ${r.safeLine})`, opts);
    });

  registerRepairCommand(archive);
  registerThawCommand(archive);

  cmd('download')
    .argument('<id>', 'archive id')
    .argument('<file>', 'where to write the copy')
    .option('-s, --source <name>', 'only from this source')
    .option('--no-verify', 'take the first copy that downloads, without verifying it')
    .description('a verified copy of an archive, from the first source (in restoreSources order) that has a good one')
    .action(async (id: string, file: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const a = await api(raw, opts, 'bri archive download').download(id, file, {
        ...sourceOpt(raw),
        verify: raw.verify !== false,
        ...(opts.json ? {} : { onProblem: (p) => process.stderr.write(`${p.source}: ${p.reason}; trying the next source\n`) }),
      });
      if (opts.json) printJson(a);
      else printLine(`wrote ${a.file} (${formatBytes(a.bytes)}) from ${a.source}${a.repaired ? `, repaired ${a.repaired.repairedBlocks} blocks with PAR2` : ''}`, opts);
    });
}

/** What the WAL cleanup and the pruning after an archive did (or why they failed). */
function reportAfterSteps(r: CreatedAndStored, opts: CommonOptions): void {
  const text = (line: string) => !opts.json && printLine(line, opts);
  if (r.cleanup && 'error' in r.cleanup) process.stderr.write(`WAL cleanup failed: [${r.cleanup.error.code}] ${r.cleanup.error.message}\n`);
  else if (r.cleanup) text(`wal cleanup  ${r.cleanup.segments.length} segments removed (${r.cleanup.lines} lines); archived and stored everywhere through line ${r.cleanup.safeLine}`);
  if (r.prune && 'error' in r.prune) process.stderr.write(`pruning failed: [${r.prune.error.code}] ${r.prune.error.message}\n`);
  else if (r.prune) text(`pruned       ${r.prune.removed.length ? r.prune.removed.map((d) => `${d.source}:${d.archiveId}`).join(', ') : 'nothing'}`);
  for (const e of r.hookErrors) process.stderr.write(`hook failed: ${e}\n`);
  // A failed upload's own exit code (set before) says more than this one.
  if (((r.cleanup && 'error' in r.cleanup) || (r.prune && 'error' in r.prune) || r.hookErrors.length) && !process.exitCode) process.exitCode = EXIT_FAILURE_CODE;
}

function uploadJson(u: CopyStatus): Record<string, unknown> {
  return { archiveId: u.archiveId, source: u.source, outcome: u.outcome, ...(u.record ? { copy: u.record } : {}), ...(u.error ? { error: u.error.toJSON() } : {}) };
}

export function registerRepairCommand(archive: Command): void {
  addOutputOptions(addArchiveDirOption(addDataDirOption(archive.command('repair'))))
    .argument('<id|file>', 'archive id or file')
    .option('-o, --out <file>', 'where to write the repaired copy (default: <archive>.repaired.bri)')
    .option('--in-place', 'replace the archive (through a temp file and a rename)', false)
    .description('repair a damaged archive with its PAR2 recovery data')
    .action(async (target: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const archives = api(raw, opts, 'bri archive repair');
      const r = await archives.repair(target, {
        ...(raw.out ? { out: String(raw.out) } : {}),
        inPlace: raw.inPlace === true,
      });
      if (opts.json) printJson(r);
      else if (!r.repaired) printLine(`${r.file}: intact, nothing to repair (${r.recoveryBlocksAvailable} recovery blocks available)`, opts);
      else if (!r.dataRepaired) printLine(`the data is intact; wrote the recovery data again (${r.problems.join('; ')}) into ${r.file}`, opts);
      else if (r.damagedBlocks === 0) printLine(`repaired ${r.problems.join('; ')}; wrote the recovery data again into ${r.file}`, opts);
      else printLine(`repaired ${r.repairedBlocks} of ${r.damagedBlocks} damaged blocks (${r.recoveryBlocksAvailable} recovery blocks available)${r.recoveryDataDamaged ? ' and wrote the recovery data again' : ''} into ${r.file}`, opts);
    });
}

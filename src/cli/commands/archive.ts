/** `bri archive create|list|get|verify|inspect|delete|stats|download`. */
import * as path from 'node:path';
import type { Command } from 'commander';
import { ArchiveApi, offlineHost } from '../../archive/archive-api.js';
import type { LocalArchive } from '../../archive/catalog.js';
import type { Retention } from '../../archive/create.js';
import type { Manifest } from '../../format/manifest.js';
import { BriError, ErrorCodes } from '../../errors.js';
import { assertDataDir } from '../../store/data-dir.js';
import { addDataDirOption, addOutputOptions, cliEncryptionKey, commonOptions, type CommonOptions } from '../common.js';
import { exitCodeFor } from '../exit-codes.js';
import { formatBytes, formatTable, formatTime, printJson, printLine } from '../output.js';
import { progressBar } from '../progress.js';

function addArchiveDirOption(cmd: Command): Command {
  return cmd.option('-a, --archive-dir <dir>', 'where archives are kept (default: <data-dir>/archives)');
}

function api(raw: Record<string, unknown>, opts: CommonOptions, purpose: string): ArchiveApi {
  const archiveDir = raw.archiveDir ? path.resolve(String(raw.archiveDir)) : undefined;
  return new ArchiveApi(offlineHost(opts.dataDir, cliEncryptionKey(), purpose), archiveDir ? { localDir: archiveDir } : {});
}

export function parseRetention(text: string | undefined): Retention | undefined {
  if (text === undefined) return undefined;
  if (text === 'permanent') return 'permanent';
  const days = /^(\d+)d$/.exec(text);
  if (days) return { days: Number(days[1]) };
  const d = new Date(text);
  if (!Number.isNaN(d.getTime()) && /^\d{4}-\d{2}-\d{2}/.test(text)) return d;
  throw new BriError(ErrorCodes.USAGE, `--retention "${text}" is not 'permanent', a number of days (e.g. 30d) or a date`, {
    hint: "Use --retention permanent, --retention 90d or --retention 2027-01-01.",
  });
}

/** One line per archive, the summary people read. */
export function archiveRow(a: LocalArchive): Array<string | number> {
  const m = a.manifest;
  const ratio = m.compression.compressedSize > 0 ? (m.compression.originalSize / m.compression.compressedSize).toFixed(1) + 'x' : '-';
  return [
    m.archiveId,
    m.name ?? '',
    `${formatTime(m.timeRange.start.getTime())} .. ${formatTime(m.timeRange.end.getTime())}`,
    `${m.timeRange.walLines.start + 1}..${m.timeRange.walLines.end}`,
    formatBytes(m.compression.originalSize),
    formatBytes(a.bytes),
    ratio,
  ];
}

export const ARCHIVE_HEADERS = ['id', 'name', 'time range', 'lines', 'original', 'size', 'ratio'];

export function archiveJson(a: LocalArchive): Record<string, unknown> {
  return { file: a.file, bytes: a.bytes, manifest: a.manifest };
}

export function manifestSummary(m: Manifest, bytes?: number): string {
  const s = m.stats;
  return [
    `archive     ${m.archiveId}${m.name ? ` (${m.name})` : ''}`,
    `instance    ${m.instanceId}`,
    `previous    ${m.previousArchiveId ?? '(first of its chain)'}`,
    `time range  ${formatTime(m.timeRange.start.getTime())} .. ${formatTime(m.timeRange.end.getTime())}`,
    `lines       ${m.timeRange.walLines.start + 1}..${m.timeRange.walLines.end} (${m.contents.totalWalEntries} entries in ${m.contents.segments.length} segments)`,
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
    .option('-r, --retention <when>', "'permanent', a number of days (30d) or a date")
    .option('-l, --level <n>', 'zstd level 1..22', (v) => Number(v))
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      await assertDataDir(opts.dataDir, false);
      const bar = progressBar(!opts.json && !opts.quiet);
      try {
        const created = await api(raw, opts, 'bri archive create').create({
          ...(raw.name !== undefined ? { name: String(raw.name) } : {}),
          ...(raw.retention !== undefined ? { retention: parseRetention(String(raw.retention))! } : {}),
          ...(raw.level !== undefined ? { level: Number(raw.level) } : {}),
          ...(bar.listener ? { onProgress: bar.listener } : {}),
        });
        bar.stop();
        if (opts.json) printJson({ archiveId: created.archiveId, file: created.file, bytes: created.bytes, manifest: created.manifest });
        else printLine(`created ${created.file}\n${manifestSummary(created.manifest, created.bytes)}`, opts);
      } finally {
        bar.stop();
      }
    });

  cmd('list')
    .description('the archives, oldest first')
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const listing = await api(raw, opts, 'bri archive list').scan();
      if (opts.json) {
        printJson({ archives: listing.archives.map(archiveJson), unreadable: listing.unreadable.map((u) => ({ file: u.file, error: u.error.toJSON() })) });
        return;
      }
      printLine(listing.archives.length ? formatTable(ARCHIVE_HEADERS, listing.archives.map(archiveRow)) : 'no archives', opts);
      for (const u of listing.unreadable) process.stderr.write(`unreadable: ${u.file}: [${u.error.code}] ${u.error.message}\n`);
    });

  cmd('get')
    .argument('<id>', 'archive id')
    .description("an archive's manifest")
    .action(async (id: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const a = await api(raw, opts, 'bri archive get').get(id);
      if (opts.json) printJson(archiveJson(a));
      else printLine(`${a.file}\n${manifestSummary(a.manifest, a.bytes)}`, opts);
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
    .description('checksums, manifest against members, chain (inside and with neighbours), snapshot, sizes')
    .action(async (target: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const bar = progressBar(!opts.json && !opts.quiet);
      const report = await api(raw, opts, 'bri archive verify').verify(target, bar.listener ? { onProgress: bar.listener } : {});
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
      }
      if (!report.ok) process.exitCode = report.error ? exitCodeFor(report.error.code as never) : exitCodeFor(ErrorCodes.ARCHIVE_CORRUPTED);
    });

  cmd('delete')
    .argument('<id>', 'archive id')
    .description('delete a local archive')
    .action(async (id: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const a = await api(raw, opts, 'bri archive delete').delete(id);
      if (opts.json) printJson({ deleted: a.manifest.archiveId, file: a.file });
      else printLine(`deleted ${a.file}`, opts);
    });

  cmd('stats')
    .description('archive count, sizes, covered lines and gaps')
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const s = await api(raw, opts, 'bri archive stats').stats();
      if (opts.json) return printJson(s);
      printLine(
        [
          `archives    ${s.archives}`,
          `size        ${formatBytes(s.bytes)} (from ${formatBytes(s.originalBytes)}${s.bytes ? `, ${(s.originalBytes / s.bytes).toFixed(1)}x` : ''})`,
          `lines       ${s.firstLine === null ? '-' : `${s.firstLine + 1}..${s.lastLine}`} (${s.walLines})`,
          `time range  ${formatTime(s.oldest?.getTime())} .. ${formatTime(s.newest?.getTime())}`,
          `gaps        ${s.gaps.length ? s.gaps.map((g) => `lines ${g.fromLine}..${g.toLine} between ${g.after} and ${g.before}`).join('; ') : 'none'}`,
        ].join('\n'),
        opts,
      );
    });

  registerRepairCommand(archive);

  cmd('download')
    .argument('<id>', 'archive id')
    .argument('<file>', 'where to write the copy')
    .description('a copy of an archive (from the local directory; remotes later)')
    .action(async (id: string, file: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const a = await api(raw, opts, 'bri archive download').download(id, file);
      if (opts.json) printJson({ archiveId: a.manifest.archiveId, file: a.file, bytes: a.bytes });
      else printLine(`wrote ${a.file} (${formatBytes(a.bytes)})`, opts);
    });
}

export function registerRepairCommand(archive: Command): void {
  addOutputOptions(addArchiveDirOption(addDataDirOption(archive.command('repair'))))
    .argument('<id|file>', 'archive id or file')
    .option('-o, --out <file>', 'where to write the repaired copy (default: <archive>.repaired.bri)')
    .option('--in-place', 'replace the archive (through a temp file and a rename)', false)
    .description('repair a damaged archive with its PAR2 recovery data')
    .action(async (target: string, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const r = await api(raw, opts, 'bri archive repair').repair(target, {
        ...(raw.out ? { out: String(raw.out) } : {}),
        inPlace: raw.inPlace === true,
      });
      if (opts.json) printJson(r);
      else if (!r.repaired) printLine(`${r.file}: intact, nothing to repair (${r.recoveryBlocksAvailable} recovery blocks available)`, opts);
      else printLine(`repaired ${r.repairedBlocks} of ${r.damagedBlocks} damaged blocks (${r.recoveryBlocksAvailable} recovery blocks available) into ${r.file}`, opts);
    });
}

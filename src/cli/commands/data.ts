/** `bri data verify|dump|stats`: a data directory's chain check, state as JSON, and figures. */
import type { Command } from 'commander';
import { toPlainState } from '../../format/state.js';
import { collectStats } from '../../store/stats.js';
import { recover } from '../../store/recovery.js';
import { verifyDataDir } from '../../store/verify-data-dir.js';
import { assertDataDir } from '../../store/data-dir.js';
import { addDataDirOption, addOutputOptions, cliEncryptionKey, commonOptions } from '../common.js';
import { formatBytes, formatTable, formatTime, printJson, printLine } from '../output.js';
import { EXIT_FAILURE } from '../exit-codes.js';

export function registerDataCommands(program: Command): void {
  const data = program.command('data').description('inspect a data directory (reads only, takes no lock)');

  addOutputOptions(addDataDirOption(data.command('verify')))
    .description('check the WAL hash chain, the snapshot and the cold tier; exit 1 naming the first bad line')
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      await assertDataDir(opts.dataDir, false);
      const report = await verifyDataDir(opts.dataDir, cliEncryptionKey());
      if (opts.json) printJson(report);
      else if (report.ok) {
        const c = report.chain;
        const chainText = c.pointersChecked ? (c.anchored ? 'chain verified (anchored on the first line on disk)' : 'chain verified from line 1') : 'chain NOT checked (encrypted; set BRI_ENCRYPTION_KEY)';
        printLine(
          `OK ${opts.dataDir}: ${c.segments} segments, ${c.lines} lines, ${chainText}` +
            (!report.snapshot.present ? ', no snapshot' : report.snapshot.checked ? `, snapshot v${report.snapshot.version ?? '?'} at line ${report.snapshot.walLine ?? '?'}` : ', snapshot encrypted (NOT checked)') +
            (c.tornTail ? `; torn last line ${c.tornTail.lineNo} in wal/${c.tornTail.segment} (ignored by recovery)` : ''),
          opts,
        );
      } else {
        process.stderr.write(`FAILED ${opts.dataDir}\n`);
        for (const p of report.problems) process.stderr.write(`  ${p}\n`);
      }
      if (!report.ok) process.exitCode = EXIT_FAILURE;
    });

  addOutputOptions(addDataDirOption(data.command('dump')))
    .description('print the documents and sets as the store sees them, as JSON')
    .option('--skip-invalid', 'skip lines that do not parse, as BRI does', false)
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      await assertDataDir(opts.dataDir, false);
      const rec = await recover(opts.dataDir, { encryptionKey: cliEncryptionKey(), invalidLines: raw.skipInvalid ? 'skip' : 'error' });
      printJson(toPlainState(rec.state));
    });

  addOutputOptions(addDataDirOption(data.command('stats')))
    .description('segments, lines, bytes, snapshot line, operations by type')
    .action(async (raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      await assertDataDir(opts.dataDir, false);
      const s = await collectStats(opts.dataDir, cliEncryptionKey());
      if (opts.json) return printJson(s);
      const ops = s.byOperation ? Object.entries(s.byOperation).map(([k, v]) => `${k} ${v}`).join(', ') : 'unknown (encrypted; set BRI_ENCRYPTION_KEY)';
      printLine(
        [
          `data directory  ${s.dataDir}`,
          `segments        ${s.segments.length} (${formatBytes(s.totalBytes)})`,
          `lines           ${s.totalLines}${s.invalidLines ? ` (${s.invalidLines} invalid)` : ''}`,
          `snapshot        ${s.snapshot ? `v${s.snapshot.version} at line ${s.snapshot.walLine}, ${formatTime(s.snapshot.timestamp)}` : s.encrypted ? 'encrypted' : 'none'}`,
          `to replay       ${s.linesToReplay} lines`,
          `time range      ${formatTime(s.firstTimestamp)} .. ${formatTime(s.lastTimestamp)}`,
          `cold documents  ${s.coldDocuments}`,
          `operations      ${ops}`,
          '',
          formatTable(
            ['segment', 'bytes', 'lines', 'first', 'last'],
            s.segments.map((g) => [g.name, g.bytes, g.lines, g.firstLine ?? '-', g.lastLine ?? '-']),
          ),
        ].join('\n'),
        opts,
      );
    });
}

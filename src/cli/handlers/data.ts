/** The `bri data` commands: a data directory's chain check, state as JSON, and figures (they read only, once an interrupted restore is finished as the open finishes it; no lock). */
import { dataDirectoryStats, dumpDataDirectory, verifyDataDirectory } from '../../archive/offline.js';
import { EXIT_OK, outcomeExitCode } from '../exit-codes.js';
import type { CommandsOf, Handlers } from '../options.js';
import { formatBytes, formatTable, formatTime, printJson, printLine } from '../output.js';

export const handlers: Handlers<CommandsOf<'data'>> = {
  async 'data verify'(o) {
    const report = await verifyDataDirectory(o.dataDir);
    if (o.json) printJson(report);
    else if (report.ok) {
      const c = report.chain;
      const chainText = c.pointersChecked ? (c.anchored ? 'chain verified (anchored on the first line on disk)' : 'chain verified from line 1') : 'chain NOT checked (encrypted; set BRI_ENCRYPTION_KEY)';
      printLine(
        `OK ${report.dataDir}: ${c.segments} segments, ${c.lines} lines, ${chainText}` +
          (!report.snapshot.present ? ', no snapshot' : report.snapshot.checked ? `, snapshot v${report.snapshot.version ?? '?'} at line ${report.snapshot.walLine ?? '?'}` : ', snapshot encrypted (NOT checked)') +
          (c.tornTail ? `; torn last line ${c.tornTail.lineNo} in wal/${c.tornTail.segment} (ignored by recovery)` : ''),
        o,
      );
    } else {
      process.stderr.write(`FAILED ${report.dataDir}\n`);
      for (const p of report.problems) process.stderr.write(`  ${p}\n`);
    }
    return outcomeExitCode.dataVerify(report);
  },

  async 'data dump'(o) {
    printJson(await dumpDataDirectory(o.dataDir, { skipInvalid: o.skipInvalid }));
    return EXIT_OK;
  },

  async 'data stats'(o) {
    const s = await dataDirectoryStats(o.dataDir);
    if (o.json) {
      printJson(s);
      return EXIT_OK;
    }
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
      o,
    );
    return EXIT_OK;
  },
};

/** `bri data verify|dump|stats`: a data directory's chain check, state as JSON, and figures (handlers/data.ts). */
import type { Command } from 'commander';
import { addDataDirOption, addOutputOptions, commonOptions } from '../common.js';
import type { Dispatch } from '../options.js';

export function registerDataCommands(program: Command, run: Dispatch): void {
  const data = program.command('data').description('inspect a data directory (reads only, takes no lock)');

  addOutputOptions(addDataDirOption(data.command('verify')))
    .description('check the WAL hash chain, the snapshot and the cold tier; exit 1 naming the first bad line')
    .action((raw: Record<string, unknown>) => run('data verify', commonOptions(raw)));

  addOutputOptions(addDataDirOption(data.command('dump')))
    .description('print the documents and sets as the store sees them, as JSON')
    .option('--skip-invalid', 'skip lines that do not parse, as BRI does', false)
    .action((raw: Record<string, unknown>) => run('data dump', { ...commonOptions(raw), skipInvalid: raw.skipInvalid === true }));

  addOutputOptions(addDataDirOption(data.command('stats')))
    .description('segments, lines, bytes, snapshot line, operations by type')
    .action((raw: Record<string, unknown>) => run('data stats', commonOptions(raw)));
}

/** `bri archive thaw`: asks the remotes for archives a lifecycle rule moved to an archive tier (S3 Glacier, Azure Archive). */
import type { Command } from 'commander';
import { BriError, ErrorCodes } from '../../errors.js';
import type { ThawStatus } from '../../archive/copies/thaw.js';
import { addDataDirOption, addOutputOptions, commonOptions, parseOpt } from '../common.js';
import { EXIT_FAILURE } from '../exit-codes.js';
import { formatTable, printJson, printLine } from '../output.js';
import { addArchiveDirOption, api, sourceOpt } from './archive-common.js';

const TIERS = ['expedited', 'standard', 'bulk'] as const;
type Tier = (typeof TIERS)[number];

const OUTCOME_TEXT: Record<NonNullable<ThawStatus['outcome']>, string> = {
  readable: 'readable now',
  requested: 'restore requested',
  'in-progress': 'restore in progress',
  'no-copy': 'no copy there',
};

export function registerThawCommand(archive: Command): void {
  addOutputOptions(addArchiveDirOption(addDataDirOption(archive.command('thaw'))))
    .argument('[id]', 'the archive to make readable again')
    .option('--all', 'every archive on the remotes (each restore is billed by the provider)', false)
    .option('-s, --source <name>', 'only this remote')
    .option('--days <n>', 'how long the restored copy stays readable, in days (S3; default 7)', parseOpt.days('--days'))
    .option('--tier <tier>', `how fast: ${TIERS.join(', ')} (default standard: hours on S3 Glacier; expedited: minutes)`, parseOpt.choice('--tier', TIERS))
    .description('restore archives from an archive tier (S3 Glacier, Azure Archive) so that they can be read again')
    .action(async (id: string | undefined, raw: Record<string, unknown>) => {
      const opts = commonOptions(raw);
      const tier = raw.tier as Tier | undefined;
      const days = raw.days as number | undefined;
      if ((id === undefined) === (raw.all !== true)) throw new BriError(ErrorCodes.USAGE, 'give an archive id or --all', { hint: '`bri archive list` shows the ids; --all asks for every archive on the remotes.' });
      const statuses = await api(raw, opts, 'bri archive thaw').thaw({
        ...(id !== undefined ? { archiveId: id } : { all: true }),
        ...sourceOpt(raw),
        ...(days !== undefined ? { days } : {}),
        ...(tier !== undefined ? { tier: tier as Tier } : {}),
      });
      if (opts.json) printJson({ thaw: statuses.map((s) => ({ archiveId: s.archiveId, source: s.source, ...(s.outcome ? { outcome: s.outcome } : {}), ...(s.error ? { error: s.error.toJSON() } : {}) })) });
      else if (statuses.length === 0) printLine('no archives on the remotes', opts);
      else printLine(formatTable(['ARCHIVE', 'SOURCE', 'STATE'], statuses.map((s) => [s.archiveId, s.source, s.outcome ? OUTCOME_TEXT[s.outcome] : `FAILED: [${s.error!.code}] ${s.error!.message}`])), opts);
      if (statuses.some((s) => s.error)) process.exitCode = EXIT_FAILURE;
    });
}

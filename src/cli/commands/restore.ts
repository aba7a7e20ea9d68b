/** `bri restore list|info|latest|from|to-timestamp|clone|verify|diff|keys`: options into options objects (handlers/restore.ts runs them). */
import type { Command } from 'commander';
import { BriError, ErrorCodes } from '../../errors.js';
import { parseTimeRange, TIME_FORMS } from '../../format/input.js';
import { absoluteAsGiven, addConfigOption, addDataDirOption, addIdentityOption, addOutputOptions, archiveCommon, compact, givenOnce, identityOpt, parseOpt, pastOpts } from '../common.js';
import { BROKEN_SHIPMENT, type Dispatch, type RestoreRunOptions } from '../options.js';

type Raw = Record<string, unknown>;

function base(cmd: Command): Command {
  return addConfigOption(addOutputOptions(addDataDirOption(cmd)).option('-a, --archive-dir <dir>', 'where archives are kept (default: where bri-archive.json records them, else <data-dir>/archives)', givenOnce('--archive-dir'))).option(
    '-s, --source <name>',
    "only this source: 'local', a remote's name, or a provider (s3, gcs, azure); default: every source in restoreSources order",
  );
}

function withRestoreOptions(cmd: Command, target = 'directory to restore into (default: the data directory)'): Command {
  return addIdentityOption(base(cmd))
    .option('-t, --target <dir>', target, givenOnce('--target'))
    .option('--dry-run', 'print the plan and change nothing', false)
    .option('--verify', 'verify (and repair with PAR2) the archive first: the default')
    .option('--no-verify', 'skip verifying the archive first')
    .option('-f, --force', 'replace a non-empty target (it is kept beside, renamed)', false)
    .option('--clean-existing', 'remove the old directory instead of keeping it', false)
    .option('--instance <id>', "which instance's archives (default: the data directory's, else the newest)")
    .option('--on-broken-shipment <what>', "a damaged or missing shipped WAL object: 'stop' at the last good line (default) or 'fail'", parseOpt.choice('--on-broken-shipment', BROKEN_SHIPMENT), 'stop');
}

function restoreRunOptions(raw: Raw): RestoreRunOptions {
  return {
    ...archiveCommon(raw),
    ...(raw.source ? { source: String(raw.source) } : {}),
    ...(raw.target ? { targetDir: absoluteAsGiven(String(raw.target)) } : {}),
    dryRun: raw.dryRun === true,
    verify: raw.verify !== false,
    force: raw.force === true,
    cleanExisting: raw.cleanExisting === true,
    ...(raw.instance ? { instanceId: String(raw.instance) } : {}),
    onBrokenShipment: raw.onBrokenShipment === 'fail' ? 'fail' : 'stop',
    ...identityOpt(raw),
  };
}

export function registerRestoreCommands(program: Command, run: Dispatch): void {
  const restore = program.command('restore').description('restore a data directory from archives');

  base(restore.command('list'))
    .description('archives of every source, merged, and the restorable time ranges per source')
    .option('--after <time>', `only archives ending after this time: ${TIME_FORMS}`, parseOpt.time('--after'))
    .option('--before <time>', 'only archives starting before this time (the same forms)', parseOpt.time('--before'))
    .action((raw: Raw) => {
      const range = parseTimeRange({ after: raw.after as number | undefined, before: raw.before as number | undefined }, { after: '--after', before: '--before' });
      return run('restore list', { ...archiveCommon(raw), ...(raw.source ? { source: String(raw.source) } : {}), ...compact(range) });
    });

  base(restore.command('info'))
    .argument('<id|file>', 'archive id, or an archive file (a path: ./backup.bri)')
    .description('what restoring an archive would give')
    .action((id: string, raw: Raw) => run('restore info', { ...archiveCommon(raw), id, ...(raw.source ? { source: String(raw.source) } : {}) }));

  withRestoreOptions(restore.command('latest'))
    .description('restore the newest state: the newest archive and the shipped WAL after it')
    .action((raw: Raw) => run('restore latest', restoreRunOptions(raw)));

  withRestoreOptions(restore.command('from'))
    .argument('<id|file>', 'archive id, or an archive file (a path: ./backup.bri): checked and repaired, then kept in the archive directory as <id>.bri')
    .description('restore the end of an archive')
    .action((id: string, raw: Raw) => run('restore from', { ...restoreRunOptions(raw), id }));

  withRestoreOptions(restore.command('to-timestamp'))
    .argument('<time>', TIME_FORMS, parseOpt.time('the time'))
    .description('restore the state at a point in time (every WAL line with timestamp <= it)')
    .action((timestamp: number, raw: Raw) => run('restore to-timestamp', { ...restoreRunOptions(raw), timestamp }));

  withRestoreOptions(restore.command('clone'), 'directory for the copy (required)')
    .argument('[id|file]', 'from this archive, or an archive file (a path; the same as --archive; default: the latest)')
    .description('a copy in another directory with a new instance id (the source is untouched)')
    .option('--archive <id>', 'from this archive (default: the latest)')
    .option('--at <time>', `at this point in time: ${TIME_FORMS}`, parseOpt.time('--at'))
    .option('--new-instance-id <id>', 'the instance id of the copy (default: random)')
    .action((id: string | undefined, raw: Raw) => {
      const o = restoreRunOptions(raw);
      const { targetDir } = o;
      if (!targetDir) throw new BriError(ErrorCodes.USAGE, 'clone needs --target <dir>', { hint: 'Name the directory for the copy.' });
      if (id !== undefined && raw.archive !== undefined && id !== raw.archive) throw new BriError(ErrorCodes.USAGE, `clone names two archives (${id} and --archive ${String(raw.archive)})`, { hint: 'Give the archive once: bri restore clone <id> --target DIR.' });
      const archiveId = id ?? (raw.archive !== undefined ? String(raw.archive) : undefined);
      if (archiveId !== undefined && raw.at !== undefined) throw new BriError(ErrorCodes.USAGE, 'clone takes an archive or --at, not both', { hint: '<id> (or --archive <id>) clones the end of an archive; --at <time> the state at a point in time.' });
      return run('restore clone', { ...o, targetDir, ...compact({ archiveId, timestamp: raw.at as number | undefined }), ...(raw.newInstanceId !== undefined ? { newInstanceId: String(raw.newInstanceId) } : {}) });
    });

  addIdentityOption(addConfigOption(addOutputOptions(addDataDirOption(restore.command('diff')))).option('-a, --archive-dir <dir>', 'where archives are kept (default: where bri-archive.json records them, else <data-dir>/archives)', givenOnce('--archive-dir')).option('-s, --source <name>', 'only this source').option('--instance <id>', "which instance's archives"))
    .requiredOption('--at <time>', `the first moment: ${TIME_FORMS}`, parseOpt.time('--at'))
    .option('--to <time>', 'the second moment (default: the newest restorable one)', parseOpt.time('--to'))
    .description('documents added, changed and removed (and set members) between two moments, without a restore')
    .action((raw: Raw) => run('restore diff', { ...archiveCommon(raw), ...pastOpts(raw), at: raw.at as number, ...compact({ to: raw.to as number | undefined }) }));

  addIdentityOption(addConfigOption(addOutputOptions(addDataDirOption(restore.command('keys')))).option('-a, --archive-dir <dir>', 'where archives are kept (default: where bri-archive.json records them, else <data-dir>/archives)', givenOnce('--archive-dir')).option('-s, --source <name>', 'only this source').option('--instance <id>', "which instance's archives"))
    .argument('[keys...]', 'the keys to roll back')
    .requiredOption('--at <time>', `their values at this moment: ${TIME_FORMS}`, parseOpt.time('--at'))
    .option('--prefix <p>', 'every document and set whose key starts with this')
    .option('--dry-run', 'list each key with its value now and at --at, write nothing', false)
    .description('write back the values some keys had at a moment, as new writes (the database must be stopped; others are untouched)')
    .action((keys: string[], raw: Raw) => {
      if (keys.length === 0 && raw.prefix === undefined) throw new BriError(ErrorCodes.USAGE, 'restore keys needs keys or --prefix', { hint: 'bri restore keys USER_1 USER_2 --at 2026-11-24T10:00:00Z, or --prefix USER_' });
      return run('restore keys', { ...archiveCommon(raw), ...pastOpts(raw), keys, at: raw.at as number, ...compact({ prefix: raw.prefix !== undefined ? String(raw.prefix) : undefined }), dryRun: raw.dryRun === true });
    });

  addIdentityOption(base(restore.command('verify')))
    .argument('<id|file>', 'archive id, or an archive file (a path: ./backup.bri)')
    .option('--deep', 'also the contents of an archive encrypted with age (needs --identity or $BRI_AGE_IDENTITY)', false)
    .description('verify an archive before restoring from it')
    .action((id: string, raw: Raw) => run('restore verify', { ...archiveCommon(raw), id, ...(raw.source ? { source: String(raw.source) } : {}), deep: raw.deep === true, ...identityOpt(raw) }));
}

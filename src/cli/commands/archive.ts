/** `bri archive create|list|get|inspect|verify|rekey|delete|upload|stats|prune|cleanup-wal|repair|thaw|download`: options into options objects (handlers/archive.ts runs them). */
import type { Command } from 'commander';
import { BriError, ErrorCodes } from '../../errors.js';
import type { ParsedRetention } from '../../format/input.js';
import { addArchiveDirOption, addDataDirOption, addIdentityOption, addOutputOptions, addPastOptions, archiveCommon, compact, givenOnce, identityOpt, parseOpt, pastOpts, pathArgument, sourceOpt } from '../common.js';
import { TIME_FORMS } from '../../format/input.js';
import { THAW_TIERS, type Dispatch, type ThawTier } from '../options.js';

type Raw = Record<string, unknown>;

export function registerArchiveCommands(program: Command, run: Dispatch): void {
  const archive = program.command('archive').description('create, list, verify and manage archives');
  const cmd = (name: string) => addOutputOptions(addArchiveDirOption(addDataDirOption(archive.command(name))));

  cmd('create')
    .description('archive the WAL since the previous archive (the data directory must not be open elsewhere)')
    .option('-n, --name <name>', 'a name for the archive')
    .option('-r, --retention <when>', "'permanent', a number of days (30d) or a date (2027-01-01: midnight UTC)", parseOpt.retention('--retention'))
    .option('-l, --level <n>', 'zstd level 1..22', parseOpt.integer('--level', 1, 22))
    .action((raw: Raw) =>
      run('archive create', {
        ...archiveCommon(raw),
        ...compact({ name: raw.name !== undefined ? String(raw.name) : undefined, retention: raw.retention as ParsedRetention | undefined, level: raw.level as number | undefined }),
      }),
    );

  cmd('list')
    .description('the archives of every source (or --source), merged by id, oldest first, with where each copy is')
    .option('-s, --source <name>', "only this source: 'local', a remote's name, or a provider (s3, gcs, azure)")
    .action((raw: Raw) => run('archive list', { ...archiveCommon(raw), ...sourceOpt(raw) }));

  cmd('get')
    .argument('<id>', 'archive id')
    .option('-s, --source <name>', 'only this source')
    .description("an archive's manifest and where its copies are")
    .action((id: string, raw: Raw) => run('archive get', { ...archiveCommon(raw), id, ...sourceOpt(raw) }));

  cmd('inspect')
    .argument('<file>', 'archive file')
    .description('the manifest summary of an archive file, without unpacking it')
    .action((file: string, raw: Raw) => run('archive inspect', { ...archiveCommon(raw), file: pathArgument(file, '<file>') }));

  addIdentityOption(cmd('verify'))
    .argument('[id|file]', 'archive id or file')
    .option('--all', 'every archive (each one\'s local copy, else its first remote copy; with --source, its copy there)', false)
    .option('-s, --source <name>', 'verify the copy on this source (downloaded to a temp file)')
    .option('--deep', 'also the contents of an archive encrypted with age: age authentication, chain, counts (needs --identity or $BRI_AGE_IDENTITY)', false)
    .description('checksums, manifest against members, chain (inside and with neighbours), snapshot, sizes; an archive encrypted with age is checked as stored unless --deep')
    .action((target: string | undefined, raw: Raw) => {
      if ((target === undefined) === (raw.all !== true)) throw new BriError(ErrorCodes.USAGE, target === undefined ? 'give an archive id or file, or --all' : `give an archive id or file, or --all, not both (${target} and --all)`, { hint: '`bri archive list` shows the ids; --all verifies every archive.' });
      return run('archive verify', { ...archiveCommon(raw), ...(target !== undefined ? { target: pathArgument(target, '<id|file>') } : {}), ...sourceOpt(raw), deep: raw.deep === true, ...identityOpt(raw) });
    });

  addIdentityOption(cmd('rekey'))
    .argument('[id]', 'one archive (default: every archive and shipment of every source, and the seeds)')
    // No short flag: -r is create's --retention, and a short flag means one thing across the CLI.
    .option('--recipient <age1...>', 'a new recipient (repeat for several); replaces the old ones', (v: string, prev: string[] = []) => [...prev, v])
    .option('--passphrase', 'encrypt to the passphrase in $BRI_AGE_NEW_PASSPHRASE instead of recipients', false)
    .option('-s, --source <name>', 'only the copies on this source')
    .description("re-encrypt the age headers of archives (and shipments, seeds) for new recipients with the old identity; the payload is not re-encrypted, PAR2 is written again")
    .action((id: string | undefined, raw: Raw) => {
      const recipients = (raw.recipient as string[] | undefined) ?? [];
      if (recipients.length === 0 && raw.passphrase !== true) throw new BriError(ErrorCodes.USAGE, 'rekey needs the new recipients', { hint: 'bri archive rekey --recipient age1... [--recipient age1...] --identity OLD_KEY_FILE' });
      return run('archive rekey', { ...archiveCommon(raw), recipients, passphrase: raw.passphrase === true, ...identityOpt(raw), ...compact({ id }), ...sourceOpt(raw) });
    });

  cmd('delete')
    .argument('<id>', 'archive id')
    .option('-s, --source <name>', "delete only the copy on this source ('local', a remote's name or a provider)")
    .option('-f, --force', 'delete a permanent archive, or the last copy of lines no longer in wal/', false)
    .description('delete an archive: every copy, or the one on --source')
    .action((id: string, raw: Raw) => run('archive delete', { ...archiveCommon(raw), id, ...sourceOpt(raw), force: raw.force === true }));

  cmd('upload')
    .argument('[id]', 'archive id (default: every local archive some remote has no confirmed copy of)')
    .option('-s, --source <name>', 'only to this remote')
    .description('upload local archives to the remotes (what a failed upload left), confirmed by size and checksum')
    .action((id: string | undefined, raw: Raw) => run('archive upload', { ...archiveCommon(raw), ...compact({ id }), ...sourceOpt(raw) }));

  cmd('stats')
    .description('archive count, sizes, covered lines and gaps')
    .option('-s, --source <name>', 'only this source')
    .action((raw: Raw) => run('archive stats', { ...archiveCommon(raw), ...sourceOpt(raw) }));

  cmd('prune')
    .option('--dry-run', 'say what would be removed, remove nothing', false)
    .description("apply the retention policy of --config (keepLocal, retentionDays, each remote's retentionDays); never a permanent archive or the newest")
    .action((raw: Raw) => run('archive prune', { ...archiveCommon(raw), dryRun: raw.dryRun === true }));

  cmd('cleanup-wal')
    .description('remove the WAL segments whose every line is archived and stored everywhere (the database must not be open)')
    .action((raw: Raw) => run('archive cleanup-wal', archiveCommon(raw)));

  cmd('repair')
    .argument('<id|file>', 'archive id or file')
    .option('-o, --out <file>', 'where to write the repaired copy (default: repaired/<archive>.bri beside it)', givenOnce('--out'))
    .option('--in-place', 'replace the archive (through a temp file and a rename)', false)
    .option('-f, --force', 'replace an existing file (or symbolic link) at --out', false)
    .description('repair a damaged archive with its PAR2 recovery data')
    .action((target: string, raw: Raw) => run('archive repair', { ...archiveCommon(raw), target: pathArgument(target, '<id|file>'), ...(raw.out ? { out: pathArgument(String(raw.out), '--out', { written: true }) } : {}), inPlace: raw.inPlace === true, force: raw.force === true }));

  cmd('thaw')
    .argument('[id]', 'the archive to make readable again')
    .option('--all', 'every archive on the remotes (each restore is billed by the provider)', false)
    .option('-s, --source <name>', 'only this remote')
    .option('--days <n>', 'how long the restored copy stays readable, in days (S3; default 7)', parseOpt.days('--days'))
    .option('--tier <tier>', `how fast: ${THAW_TIERS.join(', ')} (default standard: hours on S3 Glacier; expedited: minutes)`, parseOpt.choice('--tier', THAW_TIERS))
    .description('restore archives from an archive tier (S3 Glacier, Azure Archive) so that they can be read again')
    .action((id: string | undefined, raw: Raw) => {
      if ((id === undefined) === (raw.all !== true)) throw new BriError(ErrorCodes.USAGE, id === undefined ? 'give an archive id or --all' : `give an archive id or --all, not both (${id} and --all)`, { hint: '`bri archive list` shows the ids; --all asks for every archive on the remotes.' });
      return run('archive thaw', { ...archiveCommon(raw), ...compact({ id }), all: raw.all === true, ...sourceOpt(raw), ...compact({ days: raw.days as number | undefined, tier: raw.tier as ThawTier | undefined }) });
    });

  addPastOptions(cmd('history'))
    .argument('<key>', 'the document (or set) key')
    .option('--from <time>', `only changes at or after this time: ${TIME_FORMS}`, parseOpt.time('--from'))
    .option('--to <time>', 'only changes at or before this time (the same forms)', parseOpt.time('--to'))
    .description("a document's changes, oldest first, across archives and shipped WAL (following renames both ways), without a restore")
    .action((key: string, raw: Raw) => run('archive history', { ...archiveCommon(raw), ...pastOpts(raw), key, ...compact({ from: raw.from as number | undefined, to: raw.to as number | undefined }) }));

  addPastOptions(cmd('show'))
    .argument('<key>', 'the document (or set) key')
    .requiredOption('--at <time>', `the moment: ${TIME_FORMS}`, parseOpt.time('--at'))
    .description('a document as it was at a moment, without a restore')
    .action((key: string, raw: Raw) => run('archive show', { ...archiveCommon(raw), ...pastOpts(raw), key, at: raw.at as number }));

  cmd('download')
    .argument('<id>', 'archive id')
    .argument('<file>', 'where to write the copy')
    .option('-s, --source <name>', 'only from this source')
    .option('--no-verify', 'take the first copy that downloads, without verifying it')
    .option('-f, --force', 'replace an existing file (or symbolic link) at <file>', false)
    .description('a verified copy of an archive, from the first source (in restoreSources order) that has a good one')
    .action((id: string, file: string, raw: Raw) => run('archive download', { ...archiveCommon(raw), id, file: pathArgument(file, '<file>', { written: true }), ...sourceOpt(raw), verify: raw.verify !== false, force: raw.force === true }));
}

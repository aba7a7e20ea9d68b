/**
 * Every command's options parse into its options object, in this process (no child, no API):
 * the program is built with a runner that records what it is handed. A bad value or a bad
 * combination is USAGE before anything runs; main's run() turns the runner's answer, or its
 * error, into the exit code. (End-to-end runs of the same commands are in the other files here.)
 */
import * as path from 'node:path';
import type { Command } from 'commander';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { run } from '../../src/cli/main.js';
import type { CommandName, CommandOptions } from '../../src/cli/options.js';
import { createProgram } from '../../src/cli/program.js';
import { BriError, ErrorCodes } from '../../src/errors.js';

type Call = { name: CommandName; opts: CommandOptions[CommandName] };

/** Parses `argv` with a recording runner: what the command handed over (nothing ran). */
async function parse(argv: string[]): Promise<Call[]> {
  const calls: Call[] = [];
  await createProgram(async (name, opts) => {
    calls.push({ name, opts });
    return 0;
  }).parseAsync(argv, { from: 'user' });
  return calls;
}

async function parsed(argv: string[]): Promise<Call> {
  const calls = await parse(argv);
  expect(calls, argv.join(' ')).toHaveLength(1);
  return calls[0]!;
}

const D = { dataDir: '/srv/d', json: false, quiet: false };
const A = { ...D, archiveDir: '/srv/arch', configFile: '/etc/bri.json' };
const withArchive = ['-d', '/srv/d', '-a', '/srv/arch', '-c', '/etc/bri.json'];
const RESTORE = { ...D, dryRun: false, verify: true, force: false, cleanExisting: false, onBrokenShipment: 'stop' };
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

/** Every command, with its arguments and what it must parse into. */
const CASES: Array<[string[], CommandName, Record<string, unknown>]> = [
  [['data', 'verify', '-d', '/srv/d', '--json'], 'data verify', { ...D, json: true }],
  [['data', 'dump', '--data-dir', '/srv/d', '--skip-invalid'], 'data dump', { ...D, skipInvalid: true }],
  [['data', 'dump', '-d', '/srv/d'], 'data dump', { ...D, skipInvalid: false }],
  [['data', 'stats', '-d', '/srv/d', '-q'], 'data stats', { ...D, quiet: true }],
  [['archive', 'create', ...withArchive, '-n', 'nightly', '-r', '30d', '-l', '5', '--json'], 'archive create', { ...A, json: true, name: 'nightly', retention: { days: 30 }, level: 5 }],
  [['archive', 'create', '-d', '/srv/d', '--retention', 'permanent'], 'archive create', { ...D, retention: 'permanent' }],
  [['archive', 'create', '-d', '/srv/d', '--retention', '2099-03-04'], 'archive create', { ...D, retention: new Date(day('2099-03-04')) }],
  [['archive', 'list', ...withArchive, '-s', 's3'], 'archive list', { ...A, source: 's3' }],
  [['archive', 'list', '-d', '/srv/d'], 'archive list', D],
  [['archive', 'get', 'ID1', '-d', '/srv/d', '--source', 'local'], 'archive get', { ...D, id: 'ID1', source: 'local' }],
  [['archive', 'inspect', 'some/file.bri', '-d', '/srv/d'], 'archive inspect', { ...D, file: 'some/file.bri' }],
  [['archive', 'verify', 'ID1', '-d', '/srv/d', '-s', 'nas'], 'archive verify', { ...D, target: 'ID1', source: 'nas', deep: false }],
  [['archive', 'verify', 'ID1', '-d', '/srv/d', '--deep', '-i', '/keys/k.txt'], 'archive verify', { ...D, target: 'ID1', deep: true, identity: '/keys/k.txt' }],
  [['archive', 'rekey', '-d', '/srv/d', '--recipient', 'age1a', '--recipient', 'age1b', '--identity', '/keys/old.txt'], 'archive rekey', { ...D, recipients: ['age1a', 'age1b'], passphrase: false, identity: '/keys/old.txt' }],
  [['archive', 'rekey', 'ID1', '-d', '/srv/d', '--passphrase', '-s', 's3'], 'archive rekey', { ...D, id: 'ID1', recipients: [], passphrase: true, source: 's3' }],
  [['archive', 'history', 'USER_1', '-d', '/srv/d', '--from', '1000', '--to', '2000', '-s', 's3', '-i', '/k.txt'], 'archive history', { ...D, key: 'USER_1', from: 1000, to: 2000, source: 's3', identity: '/k.txt' }],
  [['archive', 'show', 'USER_1', '-d', '/srv/d', '--at', '1500', '--instance', 'prod'], 'archive show', { ...D, key: 'USER_1', at: 1500, instanceId: 'prod' }],
  [['restore', 'diff', '-d', '/srv/d', '--at', '1000'], 'restore diff', { ...D, at: 1000 }],
  [['restore', 'keys', 'A', 'B', '-d', '/srv/d', '--at', '1000', '--dry-run'], 'restore keys', { ...D, keys: ['A', 'B'], at: 1000, dryRun: true }],
  [['restore', 'keys', '-d', '/srv/d', '--at', '1000', '--prefix', 'USER_'], 'restore keys', { ...D, keys: [], at: 1000, prefix: 'USER_', dryRun: false }],
  [['archive', 'delete', 'ID1', '-d', '/srv/d', '-f'], 'archive delete', { ...D, id: 'ID1', force: true }],
  [['archive', 'delete', 'ID1', '-d', '/srv/d', '-s', 'nas'], 'archive delete', { ...D, id: 'ID1', source: 'nas', force: false }],
  [['archive', 'upload', '-d', '/srv/d'], 'archive upload', D],
  [['archive', 'upload', 'ID1', '-d', '/srv/d', '-s', 'nas'], 'archive upload', { ...D, id: 'ID1', source: 'nas' }],
  [['archive', 'stats', '-d', '/srv/d', '-s', 'gcs', '--json'], 'archive stats', { ...D, json: true, source: 'gcs' }],
  [['archive', 'prune', ...withArchive, '--dry-run'], 'archive prune', { ...A, dryRun: true }],
  [['archive', 'cleanup-wal', '-d', '/srv/d', '-q'], 'archive cleanup-wal', { ...D, quiet: true }],
  [['archive', 'repair', 'ID1', '-d', '/srv/d', '-o', 'out.bri'], 'archive repair', { ...D, target: 'ID1', out: 'out.bri', inPlace: false, force: false }],
  [['archive', 'repair', 'x.bri', '-d', '/srv/d', '--in-place'], 'archive repair', { ...D, target: 'x.bri', inPlace: true, force: false }],
  [['archive', 'thaw', 'ID1', '-d', '/srv/d', '--days', '3', '--tier', 'bulk', '-s', 's3'], 'archive thaw', { ...D, id: 'ID1', all: false, source: 's3', days: 3, tier: 'bulk' }],
  [['archive', 'thaw', '--all', '-d', '/srv/d'], 'archive thaw', { ...D, all: true }],
  [['archive', 'download', 'ID1', 'backup.bri', '-d', '/srv/d'], 'archive download', { ...D, id: 'ID1', file: 'backup.bri', verify: true, force: false }],
  [['archive', 'download', 'ID1', '/tmp', '-d', '/srv/d', '--no-verify', '-s', 'nas'], 'archive download', { ...D, id: 'ID1', file: '/tmp', source: 'nas', verify: false, force: false }],
  [['archive', 'download', 'ID1', 'x.bri', '-d', '/srv/d', '--force'], 'archive download', { ...D, id: 'ID1', file: 'x.bri', verify: true, force: true }],
  [['archive', 'repair', 'ID1', '-d', '/srv/d', '-o', 'out.bri', '-f'], 'archive repair', { ...D, target: 'ID1', out: 'out.bri', inPlace: false, force: true }],
  [['restore', 'list', ...withArchive, '-s', 'nas', '--after', '2026-01-01', '--before', '2026-02-01T00:00:00+01:00'], 'restore list', { ...A, source: 'nas', after: day('2026-01-01'), before: Date.parse('2026-01-31T23:00:00Z') }],
  [['restore', 'list', '-d', '/srv/d', '--json'], 'restore list', { ...D, json: true }],
  [['restore', 'info', 'ID1', '-d', '/srv/d', '-s', 's3'], 'restore info', { ...D, id: 'ID1', source: 's3' }],
  [['restore', 'latest', '-d', '/srv/d'], 'restore latest', RESTORE],
  [
    ['restore', 'latest', ...withArchive, '-t', '/srv/t', '--dry-run', '--no-verify', '-f', '--clean-existing', '--instance', 'staging', '--on-broken-shipment', 'fail', '-s', 'nas', '--json'],
    'restore latest',
    { ...RESTORE, ...A, json: true, targetDir: '/srv/t', dryRun: true, verify: false, force: true, cleanExisting: true, instanceId: 'staging', onBrokenShipment: 'fail', source: 'nas' },
  ],
  [['restore', 'from', 'ID1', '-d', '/srv/d', '--verify'], 'restore from', { ...RESTORE, id: 'ID1' }],
  [['restore', 'to-timestamp', '2026-03-01T10:00:00Z', '-d', '/srv/d'], 'restore to-timestamp', { ...RESTORE, timestamp: Date.parse('2026-03-01T10:00:00Z') }],
  [['restore', 'to-timestamp', '1767225600000', '-d', '/srv/d'], 'restore to-timestamp', { ...RESTORE, timestamp: 1767225600000 }],
  [['restore', 'clone', '-d', '/srv/d', '--target', '/srv/copy'], 'restore clone', { ...RESTORE, targetDir: '/srv/copy' }],
  // An empty id is given, not left out: the clone refuses it (a random id would hide the mistake).
  [['restore', 'clone', 'ID1', '-d', '/srv/d', '--target', '/srv/copy', '--new-instance-id', 'copy-1'], 'restore clone', { ...RESTORE, targetDir: '/srv/copy', archiveId: 'ID1', newInstanceId: 'copy-1' }],
  [['restore', 'clone', '--archive', 'ID1', '-d', '/srv/d', '--target', '/srv/copy'], 'restore clone', { ...RESTORE, targetDir: '/srv/copy', archiveId: 'ID1' }],
  [['restore', 'clone', 'ID1', '--archive', 'ID1', '-d', '/srv/d', '--target', '/srv/copy'], 'restore clone', { ...RESTORE, targetDir: '/srv/copy', archiveId: 'ID1' }],
  [['restore', 'clone', '--at', '2026-03-01', '-d', '/srv/d', '--target', '/srv/copy'], 'restore clone', { ...RESTORE, targetDir: '/srv/copy', timestamp: day('2026-03-01') }],
  [['restore', 'verify', 'ID1', '-d', '/srv/d', '-s', 'local'], 'restore verify', { ...D, id: 'ID1', source: 'local', deep: false }],
  [['restore', 'latest', '-d', '/srv/d', '-i', '/keys/k.txt'], 'restore latest', { ...RESTORE, identity: '/keys/k.txt' }],
];

/** Every command a user can run: the leaves of the program's tree. */
function leafCommands(cmd: Command, prefix: string[] = []): string[] {
  return cmd.commands.flatMap((c) => (c.commands.length ? leafCommands(c, [...prefix, c.name()]) : [[...prefix, c.name()].join(' ')]));
}

describe('bri: parsing into options objects, in process', () => {
  beforeEach(() => {
    vi.stubEnv('BRI_DATA_DIR', undefined);
  });
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.restoreAllMocks();
  });

  it.each(CASES.map(([argv, name, opts]) => [argv.join(' '), argv, name, opts] as const))('%s', async (_, argv, name, opts) => {
    const call = await parsed(argv);
    expect(call.name).toBe(name);
    // Exactly these keys: an option not given is absent, not undefined.
    expect(call.opts).toStrictEqual(opts);
  });

  it('covers every command the program has', () => {
    const covered = new Set(CASES.map(([, name]) => name));
    expect(leafCommands(createProgram()).filter((c) => c !== 'help').sort()).toEqual([...covered].sort());
  });

  it('the data directory: -d resolved against the working directory, else $BRI_DATA_DIR, else ./data', async () => {
    expect((await parsed(['data', 'stats', '-d', 'rel/dir'])).opts.dataDir).toBe(path.resolve('rel/dir'));
    expect((await parsed(['archive', 'list'])).opts.dataDir).toBe(path.resolve('data'));
    vi.stubEnv('BRI_DATA_DIR', '/from/env');
    expect((await parsed(['restore', 'list'])).opts.dataDir).toBe('/from/env');
    // --config and --archive-dir are handed over as given: the API reads the file and resolves them.
    expect((await parsed(['archive', 'list', '-c', 'conf.json', '-a', 'arch'])).opts).toMatchObject({ configFile: 'conf.json', archiveDir: 'arch' });
    // A restore target is a path resolved here (the API checks it is a directory).
    expect((await parsed(['restore', 'latest', '-t', 'out'])).opts).toMatchObject({ targetDir: path.resolve('out') });
  });

  it('bad values and bad combinations are USAGE before anything runs', async () => {
    const bad: Array<[string[], RegExp]> = [
      [['archive', 'thaw'], /give an archive id or --all/],
      [['archive', 'thaw', 'ID1', '--all'], /give an archive id or --all/],
      [['archive', 'thaw', 'ID1', '--tier', 'fast'], /--tier/],
      [['archive', 'thaw', 'ID1', '--days', '0'], /--days/],
      [['archive', 'create', '--level', '23'], /--level/],
      [['archive', 'create', '--retention', '0d'], /--retention/],
      [['restore', 'clone'], /clone needs --target/],
      [['restore', 'clone', 'A', '--archive', 'B', '--target', '/t'], /clone names two archives \(A and --archive B\)/],
      [['restore', 'clone', 'A', '--at', '2026-01-01', '--target', '/t'], /clone takes an archive or --at, not both/],
      [['restore', 'list', '--after', '2026-01-02', '--before', '2026-01-01'], /--after .* is later than --before/],
      [['restore', 'to-timestamp', '2026-02-30'], /the time/],
      [['restore', 'latest', '--on-broken-shipment', 'maybe'], /--on-broken-shipment/],
      [['restore', 'clone', '-d', '/srv/d', '--target', '/srv/copy', '--new-instance-id', ''], /--new-instance-id is empty/],
    ];
    for (const [argv, message] of bad) {
      const calls: Call[] = [];
      const err = await createProgram(async (name, opts) => {
        calls.push({ name, opts });
        return 0;
      })
        .parseAsync(argv, { from: 'user' })
        .then(() => null, (e: unknown) => e);
      expect(err, argv.join(' ')).toBeInstanceOf(BriError);
      expect((err as BriError).code).toBe(ErrorCodes.USAGE);
      expect((err as BriError).message).toMatch(message);
      expect(calls, argv.join(' ')).toEqual([]);
    }
  });
});

describe('bri: the one exit point (run)', () => {
  let stderr: string;
  beforeEach(() => {
    stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr += String(chunk);
      return true;
    });
    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it("answers the command's exit code, and sets no exit code itself", async () => {
    expect(await run(['archive', 'verify', 'ID1'], async () => 24)).toBe(24);
    expect(await run(['data', 'verify'], async () => 0)).toBe(0);
    expect(process.exitCode).toBeUndefined();
  });

  it("answers an error's own code, said with its hint (JSON under --json), never a stack", async () => {
    const locked = async (): Promise<number> => {
      throw new BriError(ErrorCodes.LOCKED, 'data directory is locked', { hint: 'Wait for that process.' });
    };
    expect(await run(['archive', 'create'], locked)).toBe(11);
    expect(stderr).toBe('error [LOCKED]: data directory is locked\nhint: Wait for that process.\n');
    stderr = '';
    expect(await run(['archive', 'create', '--json'], locked)).toBe(11);
    expect(JSON.parse(stderr).error).toMatchObject({ code: 'LOCKED', hint: 'Wait for that process.' });
  });

  it('bad usage is 2 without running anything; --help and --version are 0', async () => {
    const runner = vi.fn(async () => 0);
    expect(await run(['archive', 'nope'], runner)).toBe(2);
    expect(await run(['archive', 'list', '--bogus'], runner)).toBe(2);
    expect(await run(['archive', 'create', '--level', '0'], runner)).toBe(2);
    expect(await run(['--version'], runner)).toBe(0);
    expect(await run(['restore', 'clone', '--help'], runner)).toBe(0);
    expect(runner).not.toHaveBeenCalled();
  });
});

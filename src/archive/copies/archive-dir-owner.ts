/**
 * An archive directory holds one database's archives. Its retention decides on
 * every archive there that is its own (its instance's, and its earlier
 * instances' after a restore in place), so a second data directory archiving
 * into it would have one database's prune delete the other's archives, their
 * only copies perhaps. `<archiveDir>/bri-archive-dir.json` records the data
 * directory whose archives these are and the instances it archived there.
 * A directory made before the file existed is taken, when it is first written,
 * with the instances whose archives it holds, as the previous version took it,
 * by a data directory shown to have archived there; one that never did (the
 * directory is another database's, or a remote's folder) is refused there.
 * The owner's path alone does not make a database the owner (a new one made
 * where a moved one was is another), nor the owner's instance (a copy of the
 * owner while the owner still archives there forks its chain).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { readRegularFile } from '../../store/files/regular-file.js';
import { BriError, ErrorCodes, shellArg } from '../../errors.js';
import type { Manifest } from '../../format/manifest.js';
import { parseWalLine } from '../../format/wal-line.js';
import { readArchiveState, recordedArchiveDir, sameDirectory, type ArchiveState } from '../../store/archive-state.js';
import { writeFileDurable } from '../../store/durable-fs.js';
import { readWal } from '../../store/wal/wal-reader.js';
import { segmentSpans } from '../../store/wal/wal-spans.js';
import { continuesKnownLine, copyOfOwnerError } from './foreign-branch.js';
import { listLocalArchives } from './local-catalog.js';
import { DEFAULT_ARCHIVE_SUBDIR, realPath } from './locations.js';

export const ARCHIVE_DIR_OWNER_FILE = 'bri-archive-dir.json';

interface ArchiveDirOwner {
  version: 1;
  /** The data directory (real path) whose archives the directory holds. */
  dataDir: string;
  /** Every instance that data directory archived here (its earlier ones, after a restore in place, too). */
  instances: string[];
}

async function readOwner(archiveDir: string): Promise<ArchiveDirOwner | null> {
  const text = await readRegularFile(path.join(archiveDir, ARCHIVE_DIR_OWNER_FILE), 'utf8').catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(err)));
  if (text === null) return null;
  let o: ArchiveDirOwner | null;
  try {
    o = JSON.parse(text) as ArchiveDirOwner | null;
  } catch (err) {
    throw damagedOwnerFile(archiveDir, err as Error);
  }
  if (typeof o?.version === 'number' && o.version > 1) throw newerOwnerFile(archiveDir, o.version);
  if (o === null || o.version !== 1 || typeof o.dataDir !== 'string' || !Array.isArray(o.instances) || !o.instances.every((i) => typeof i === 'string')) throw damagedOwnerFile(archiveDir, new Error('bad fields'));
  return o;
}

function damagedOwnerFile(archiveDir: string, err: Error): BriError {
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `${ARCHIVE_DIR_OWNER_FILE} in ${archiveDir} is damaged: ${err.message}`, {
    hint: `It names the data directory whose archives these are: remove it, and archive from that data directory again (it is written anew).`,
    cause: err,
  });
}

/** An owner file a later bri wrote (its format moved on): not damaged, and not to be removed; this bri cannot tell whose the directory is. */
function newerOwnerFile(archiveDir: string, version: number): BriError {
  return new BriError(ErrorCodes.ARCHIVE_ERROR, `${ARCHIVE_DIR_OWNER_FILE} in ${archiveDir} was written by a newer version of bri (its format version ${version}; this one reads version 1)`, {
    hint: `Upgrade bri-archive (the package of bri) to the version that archives into ${archiveDir}, and run the command with it; keep the file: it names the data directory whose archives these are.`,
    details: { archiveDir, version },
  });
}

/** Whether `dataDir` may archive into a directory with an owner: its own, another database's, or the owner's copy (cp -a) while the owner still archives there. */
type Verdict = 'own' | 'another' | 'copy';

/** bri-archive.json of a data directory; a damaged one reads as none (what it would say is judged by the create itself). */
const stateOf = (dataDir: string) => readArchiveState(dataDir).catch(() => null);

/** Whether `dir` lies inside `parent` (links resolved): an archive directory there moves and is copied with its data directory. */
function isInside(dir: string, parent: string): boolean {
  const rel = path.relative(realPath(parent), realPath(dir));
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** Whether the state, written by `dataDir` itself (a copy's names its original), names `archiveDir` as where its archives are made. */
function recordsArchiveDir(state: ArchiveState | null, dataDir: string, archiveDir: string): boolean {
  const recorded = recordedArchiveDir(state, dataDir);
  return recorded !== undefined && realPath(recorded) === realPath(archiveDir);
}

/**
 * Whether the owner's path still holds the owner: its instance is one it archived here, or it records this
 * directory (restored in place, not archived since). A new database made at a moved one's old path does not.
 */
async function ownerStillThere(owner: ArchiveDirOwner, archiveDir: string): Promise<boolean> {
  if (!fs.existsSync(owner.dataDir)) return false;
  const state = await readArchiveState(owner.dataDir).catch(() => undefined);
  // A state that cannot be read may still be the owner's: not taken over.
  if (state === undefined) return true;
  return state !== null && (owner.instances.includes(state.instanceId) || recordsArchiveDir(state, owner.dataDir, archiveDir));
}

/**
 * Whether `dataDir`, at the owner's path as another instance, is the owner's database: restored in place
 * (its state records the directory), the directory inside it, or its bri-archive.json moved aside to archive
 * as a new instance (its WAL holds a line the owner's archives begin or end on). A new database made at a
 * moved one's old path is none of these.
 */
async function sameDatabaseAtPath(owner: ArchiveDirOwner, archiveDir: string, dataDir: string): Promise<boolean> {
  if (isInside(archiveDir, dataDir)) return true;
  const state = await stateOf(dataDir);
  if (recordsArchiveDir(state, dataDir, archiveDir)) return true;
  const theirs = (await listLocalArchives(archiveDir).catch(() => [])).map((a) => a.manifest).filter((m) => owner.instances.includes(m.instanceId));
  return walHoldsLineOf(dataDir, state?.removedLines ?? 0, theirs);
}

/**
 * The directory is `dataDir`'s own when it archived there as `instanceId` (or is that database at the same
 * path), or when the owner moved (its path is gone or holds another database now) and this is the same
 * database (one of the owner's instances, whose chain the create's own checks judge). A copy of the owner
 * while the owner is still there, or another database (a clone too), may not archive there.
 */
async function verdictOn(owner: ArchiveDirOwner, archiveDir: string, dataDir: string, instanceId: string): Promise<Verdict> {
  if (sameDirectory(owner.dataDir, dataDir)) return owner.instances.includes(instanceId) || (await sameDatabaseAtPath(owner, archiveDir, dataDir)) ? 'own' : 'another';
  if (!owner.instances.includes(instanceId)) return 'another';
  // A directory inside the data directory was copied with it (cp -a of a database with its default archives/): the
  // copy's own, whatever path the owner file it carries names; only a directory both archive into is a copy's fork.
  if (isInside(archiveDir, dataDir) && !isInside(archiveDir, owner.dataDir)) return 'own';
  return (await ownerStillThere(owner, archiveDir)) && !(await endsBeforeItsArchives(dataDir)) ? 'copy' : 'own';
}

/**
 * Whether `dataDir`'s WAL ends before the last archive its bri-archive.json names: an older copy, which
 * forks nothing (the create's own chain check refuses it, saying so), not a copy writing on past the owner.
 */
async function endsBeforeItsArchives(dataDir: string): Promise<boolean> {
  const state = await stateOf(dataDir);
  if (!state?.last) return false;
  const spans = await segmentSpans(dataDir).catch(() => []);
  return (spans.at(-1)?.lastLine ?? 0) + state.removedLines < state.last.endLine;
}

/**
 * An archive directory of its own for `dataDir` to be told to use: its default one, unless that is the
 * refused directory itself (then one beside the data directory).
 */
function ownArchiveDirFor(dataDir: string, refused: string): string {
  const preferred = path.join(path.resolve(dataDir), DEFAULT_ARCHIVE_SUBDIR);
  return realPath(preferred) === realPath(refused) ? `${path.resolve(dataDir)}-archives` : preferred;
}

function ownArchiveDirHint(dataDir: string, archiveDir: string, own: string): string {
  return (
    `Give this data directory an archive directory of its own: \`bri archive create -d ${shellArg(path.resolve(dataDir))} --archive-dir ${shellArg(own)}\` (and archive.localDir: ${own} in its --config); its chain goes on there, ` +
    `and anything it archived in ${archiveDir} before stays there to restore from (-a ${shellArg(archiveDir)}). A remote may be shared.`
  );
}

/** The commands other than the create that act for a data directory on its archive directory's archives. */
export type ArchivesAct = 'upload' | 'delete' | 'rekey';

/** What each would do to the database whose archives they are, said in its refusal. */
const ACT_HARM: Record<ArchivesAct, string> = {
  upload: "uploading them to its remotes would put that database's archives where a restore of it looks for its own",
  delete: "deleting them would be judged by its WAL, not by theirs, and could remove that database's only copies",
  rekey: "rekeying them for its recipients would leave that database's key unable to open them, and its next archive failing",
};

/** What to do instead: archive into a directory of its own (the create), or run the command for the database they are. */
function actHint(act: ArchivesAct | undefined, owner: ArchiveDirOwner, archiveDir: string, dataDir: string, own: string): string {
  if (act === undefined) return ownArchiveDirHint(dataDir, archiveDir, own);
  return `Run it for the database whose archives these are (\`bri archive ${act} -d ${shellArg(owner.dataDir)} -a ${shellArg(archiveDir)}\`, with its --config); ${path.resolve(dataDir)}'s own archives are in its archive directory (${own}, or archive.localDir in its --config).`;
}

function anotherDatabase(owner: ArchiveDirOwner, archiveDir: string, dataDir: string, instanceId: string, act?: ArchivesAct): BriError {
  const own = ownArchiveDirFor(dataDir, archiveDir);
  const details = { archiveDir, owner: owner.dataDir, dataDir: path.resolve(dataDir), ownArchiveDir: own, instances: owner.instances };
  const hint = actHint(act, owner, archiveDir, dataDir, own);
  if (sameDirectory(owner.dataDir, dataDir)) {
    const harm = act === undefined ? "archiving it there would let its retention delete that database's archives" : ACT_HARM[act];
    return new BriError(ErrorCodes.USAGE, `the archive directory ${archiveDir} holds the archives a database at this very path made (instances ${owner.instances.join(', ')}), and ${path.resolve(dataDir)} is not that database: its instance (${instanceId || 'none yet'}) is none of them and its WAL holds no line of their archives; ${harm}`, {
      hint: `${hint} If the database that archived there moved, ${act === undefined ? 'archive it' : `run the ${act}`} from where it is now: the archive directory follows it.`,
      details,
    });
  }
  const harm = act === undefined ? `archiving ${path.resolve(dataDir)} there too would let each one's retention delete the other's archives` : `they are not ${path.resolve(dataDir)}'s: ${ACT_HARM[act]}`;
  return new BriError(ErrorCodes.USAGE, `the archive directory ${archiveDir} holds the archives of the data directory ${owner.dataDir}: ${harm}`, {
    hint: act === undefined ? `${hint} If ${owner.dataDir} moved here, its archive directory follows once the old path is gone.` : hint,
    details,
  });
}

/** An archive directory that records no owner and holds only archives `dataDir` did not make there (another database's, a remote's folder). */
function strangersArchives(archiveDir: string, dataDir: string, held: readonly string[]): BriError {
  const own = ownArchiveDirFor(dataDir, archiveDir);
  return new BriError(ErrorCodes.USAGE, `the archive directory ${archiveDir} holds archives of ${held.length === 1 ? 'instance' : 'instances'} ${held.join(', ')}, none of them made by ${path.resolve(dataDir)} (not its instance, it never archived there, and it shares no line with them): another database's archives, or a remote's folder; archiving there would let its retention delete them`, {
    hint: ownArchiveDirHint(dataDir, archiveDir, own),
    details: { archiveDir, dataDir: path.resolve(dataDir), instances: [...held], ownArchiveDir: own },
  });
}

/**
 * Refuses to archive `dataDir` into an archive directory that holds another data directory's archives
 * (USAGE), or that its original, still there, archives into while `dataDir` is a copy of it (ARCHIVE_ERROR).
 * A directory that records no owner yet is taken with the instances that are shown to be `dataDir`'s
 * (bri-archive-dir.json written now), and refused when it holds archives and none of them are.
 */
export async function assertArchiveDirOwner(archiveDir: string, dataDir: string, instanceId: string): Promise<void> {
  const owner = await readOwner(archiveDir);
  if (owner === null) return claimUnrecorded(archiveDir, dataDir);
  const verdict = await verdictOn(owner, archiveDir, dataDir, instanceId);
  if (verdict === 'copy') throw copyOfOwnerError(instanceId, archiveDir, owner.dataDir, path.resolve(dataDir), ownArchiveDirFor(dataDir, archiveDir));
  if (verdict === 'another') throw anotherDatabase(owner, archiveDir, dataDir, instanceId);
}

/**
 * The owner of `archiveDir` when it is another database than `dataDir` (with `dataDir`'s instance), by the
 * create's verdict, or null. A directory that records no owner yet is left to the create to take, and one
 * whose owner is gone from its path (its archives have no data directory left to break) is nobody else's:
 * a lost machine's archive directory, copied back, is uploaded and rekeyed from wherever it is run.
 */
async function anotherOwner(archiveDir: string, dataDir: string): Promise<{ owner: ArchiveDirOwner; instanceId: string } | null> {
  const owner = await readOwner(archiveDir);
  if (owner === null) return null;
  const state = await readArchiveState(dataDir).catch(() => undefined);
  const atOwnersPath = sameDirectory(owner.dataDir, dataDir);
  // The owner's path with a state that cannot be read: the create says what is wrong with it.
  if (state === undefined && atOwnersPath) return null;
  const instanceId = state?.instanceId ?? '';
  if ((await verdictOn(owner, archiveDir, dataDir, instanceId)) === 'own') return null;
  return atOwnersPath || (await ownerStillThere(owner, archiveDir)) ? { owner, instanceId } : null;
}

/** Refuses `dataDir` acting (`act`) on the archives of an archive directory another data directory owns: the create's USAGE, naming the owner. */
export async function assertOwnArchives(archiveDir: string, dataDir: string, act: ArchivesAct): Promise<void> {
  const another = await anotherOwner(archiveDir, dataDir);
  if (another) throw anotherDatabase(another.owner, archiveDir, dataDir, another.instanceId, act);
}

/** Whether the archives in `archiveDir` are another data directory's (`assertOwnArchives` would refuse); a damaged owner file tells nothing. */
export async function holdsAnothersArchives(archiveDir: string, dataDir: string): Promise<boolean> {
  return (await anotherOwner(archiveDir, dataDir).catch(() => null)) !== null;
}

/**
 * Whether `archiveDir` is another database's, `dataDir` (as `instanceId`) may not archive there: a directory
 * the previous version let two data directories share went to the first to archive after the upgrade.
 * A damaged owner file, or none, tells nothing: false.
 */
export async function ownedByAnother(archiveDir: string, dataDir: string, instanceId: string): Promise<boolean> {
  const owner = await readOwner(archiveDir).catch(() => null);
  return owner !== null && (await verdictOn(owner, archiveDir, dataDir, instanceId)) !== 'own';
}

/** How many entries of a folder are looked at for data directories (a folder of thousands is not read whole). */
const NEIGHBOURS_LOOKED_AT = 1000;

/**
 * Where another data directory archiving into `archiveDir` would be found: the folder that holds the
 * archive directory (its default place is `<dataDir>/archives`), and the entries beside it and beside
 * `dataDir` (a clone is made next to its parent).
 */
async function neighbourDirs(archiveDir: string, dataDir: string): Promise<string[]> {
  const holder = path.dirname(realPath(archiveDir));
  const out = new Set<string>([holder]);
  for (const folder of new Set([holder, path.dirname(realPath(dataDir))])) {
    const names = await fsp.readdir(folder).catch(() => [] as string[]);
    for (const n of names.slice(0, NEIGHBOURS_LOOKED_AT)) out.add(path.join(folder, n));
  }
  return [...out];
}

/**
 * The instances whose archives another data directory is shown to make in `archiveDir`: its bri-archive.json,
 * written by that very directory, names it. A copy of `dataDir`'s state (the directory a restore in place
 * moves aside, a backup) names `dataDir` as where it archived from, and is not another's.
 */
async function instancesOfOthers(archiveDir: string, dataDir: string): Promise<Set<string>> {
  const here = realPath(archiveDir);
  const out = new Set<string>();
  for (const dir of await neighbourDirs(archiveDir, dataDir)) {
    if (sameDirectory(dir, dataDir)) continue;
    const state = await readArchiveState(dir).catch(() => null);
    const recorded = recordedArchiveDir(state, dir);
    if (state?.archivedFrom !== undefined && recorded !== undefined && realPath(recorded) === here) out.add(state.instanceId);
  }
  return out;
}

/**
 * Whether `dataDir` is shown to have archived into `archiveDir` before the directory recorded an owner:
 * the directory is inside it (its default place), or its bri-archive.json names it (a restore in place
 * records it too), or that file predates the record and the directory holds its instance's archives.
 */
function archivedHereBefore(state: ArchiveState | null, archiveDir: string, dataDir: string, held: ReadonlySet<string>): boolean {
  if (isInside(archiveDir, dataDir)) return true;
  if (state === null) return false;
  if (recordedArchiveDir(state, dataDir) !== undefined) return recordsArchiveDir(state, dataDir, archiveDir);
  return state.archiveDir === undefined && held.has(state.instanceId);
}

/**
 * The instances whose archives a directory made before bri-archive-dir.json existed holds (`held`), and
 * those taken as `dataDir`'s (`own`). Where it archived before, every one, as the previous version's prune
 * took them (the earlier instances of a restore in place are), except those another data directory is
 * shown to make there (a clone it let share); elsewhere its own instance's only (a directory that was never
 * its, a remote's folder, holds another database's).
 */
async function heldBefore(archiveDir: string, dataDir: string): Promise<{ held: string[]; own: string[] }> {
  const held = new Set((await listLocalArchives(archiveDir).catch(() => [])).map((a) => a.manifest.instanceId));
  if (held.size === 0) return { held: [], own: [] };
  const state = await stateOf(dataDir);
  if (!archivedHereBefore(state, archiveDir, dataDir, held)) return { held: [...held], own: state !== null && held.has(state.instanceId) ? [state.instanceId] : [] };
  const others = await instancesOfOthers(archiveDir, dataDir);
  return { held: [...held], own: [...held].filter((i) => !others.has(i)) };
}

async function writeOwner(archiveDir: string, owner: ArchiveDirOwner): Promise<void> {
  await writeFileDurable(path.join(archiveDir, ARCHIVE_DIR_OWNER_FILE), JSON.stringify(owner, null, 2) + '\n');
}

/**
 * Whether `dataDir` shares history with an archive in `archiveDir`: it was restored or cloned from one (its
 * WAL, or what its bri-archive.json knows, holds a line one begins or ends on). Not that archive's database
 * for its retention (a clone is another), but not a stranger to it either.
 */
async function descendsFromHeld(archiveDir: string, dataDir: string): Promise<boolean> {
  const state = await stateOf(dataDir);
  const held = (await listLocalArchives(archiveDir).catch(() => [])).map((a) => a.manifest);
  return (state !== null && held.some((m) => continuesKnownLine(state, m))) || walHoldsLineOf(dataDir, state?.removedLines ?? 0, held);
}

/**
 * A directory that records no owner: taken by `dataDir` with the instances shown to be its own, written
 * before the create (which records itself in bri-archive.json as archiving here, after which anything there
 * would look like its own). One holding none of its own is taken with none (a clone or restore of an
 * archive there, as the previous version let a clone share its parent's), and refused when `dataDir` shares
 * no history with any of them (another database's archives, a remote's folder).
 */
async function claimUnrecorded(archiveDir: string, dataDir: string): Promise<void> {
  const { held, own } = await heldBefore(archiveDir, dataDir);
  if (held.length === 0) return;
  if (own.length === 0 && !(await descendsFromHeld(archiveDir, dataDir))) throw strangersArchives(archiveDir, dataDir, held);
  await writeOwner(archiveDir, { version: 1, dataDir: realPath(dataDir), instances: own });
}

/**
 * Whether `dataDir`'s WAL (`removedLines` gone from its front) holds a line one of `archives` begins or ends
 * on, with its pointer: it shares their history. One pass, stopped at the last line asked about.
 */
async function walHoldsLineOf(dataDir: string, removedLines: number, archives: readonly Manifest[]): Promise<boolean> {
  const wanted = new Map<number, Set<string>>();
  const want = (line: number, pointer: string) => {
    const local = line - removedLines;
    if (local >= 1) wanted.set(local, (wanted.get(local) ?? new Set()).add(pointer));
  };
  for (const m of archives) {
    want(m.timeRange.walLines.end, m.chain.lastPointer);
    if (m.timeRange.walLines.start > 0) want(m.timeRange.walLines.start, m.chain.prevPointer);
  }
  const lastWanted = [...wanted.keys()].reduce((a, b) => Math.max(a, b), 0);
  if (lastWanted === 0) return false;
  try {
    for await (const batch of readWal(dataDir)) {
      for (const l of batch) if (wanted.get(l.lineNo)?.has(parseWalLine(l.text)?.pointer ?? '')) return true;
      if (batch[batch.length - 1]!.lineNo >= lastWanted) return false;
    }
  } catch {
    // A WAL that cannot be read shows nothing shared.
  }
  return false;
}

/**
 * Records that `dataDir` archived `instanceId` into `archiveDir` (a durable write, only when something changes).
 * The same database at another path takes the directory over only once the owner is gone from its path (it moved).
 */
export async function recordArchiveDirOwner(archiveDir: string, dataDir: string, instanceId: string): Promise<void> {
  const owner = await readOwner(archiveDir);
  const real = realPath(dataDir);
  if (owner !== null && !sameDirectory(owner.dataDir, real) && (!owner.instances.includes(instanceId) || (await ownerStillThere(owner, archiveDir)))) return;
  const instances = owner?.instances ?? (await heldBefore(archiveDir, dataDir)).own.filter((i) => i !== instanceId);
  if (owner?.dataDir === real && instances.includes(instanceId)) return;
  await writeOwner(archiveDir, { version: 1, dataDir: real, instances: instances.includes(instanceId) ? instances : [...instances, instanceId] });
}

/**
 * The instances whose archives in `archiveDir` are `dataDir`'s to decide on (their retention is its own):
 * those it archived there, when the directory is its own; none when it is another's (a new database at a
 * moved one's path included). A directory that records no owner yet (made before the owner file) is taken
 * as the first create after the upgrade will record it.
 */
export async function instancesArchivedBy(archiveDir: string, dataDir: string): Promise<ReadonlySet<string>> {
  const owner = await readOwner(archiveDir);
  if (owner === null) return new Set((await heldBefore(archiveDir, dataDir)).own);
  if (!sameDirectory(owner.dataDir, dataDir)) return new Set();
  const instanceId = (await stateOf(dataDir))?.instanceId ?? '';
  return new Set((await verdictOn(owner, archiveDir, dataDir, instanceId)) === 'own' ? owner.instances : []);
}

/**
 * What a command that takes an archive id (or a file) reaches. An argument names a file or an id,
 * told apart and checked before anything is read. Copies named like an archive whose manifest cannot
 * be read, PAR2 included (junk under an archive's name, an upload cut short, an object in an archive
 * tier), are the id's too: no listing can say what they hold, yet a restore names them, so delete
 * removes one (with --force: nothing in it can be read, but what it is cannot be checked either),
 * download writes it as it is stored (--no-verify) to be examined or repaired elsewhere, verify and
 * repair say what is wrong with it. Each refusal names the command that does work.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { BriError, ErrorCodes, isBriError, shellArg, typedIoError } from '../../errors.js';
import { downloadRanged, isColdObject } from '../../remote/index.js';
import { readArchiveState } from '../../store/archive-state.js';
import { commitFile, makeDirs, pathExists } from '../../store/durable-fs.js';
import { ARCHIVE_EXTENSION, archiveFileName, assertArchiveId } from '../package/ids.js';
import { assertRegularFileInput } from '../package/input-file.js';
import { repairArchive, repairIntoNewFolder, type RepairResult } from '../package/recovery.js';
import { existingDir, scratchPath } from '../package/scratch.js';
import { readManifest } from '../package/reader.js';
import { verifyArchive, type VerifyOptions, type VerifyReport } from '../package/verify.js';
import { notFoundUnlessUnread, type ArchiveCopy, type CatalogArchive, type MergedListing, type UnreadableCopy } from './catalog.js';
import { asDamage, heldAs, type DownloadedArchive } from './copy-ops.js';
import { fileSha256 } from './whole-copy.js';
import { archiveObjectKey, LOCAL_SOURCE, type ArchiveSources } from './sources.js';

/** An archive file a caller names: a regular file that exists (ARCHIVE_NOT_FOUND, or USAGE for /dev/zero, a FIFO, a directory). */
export async function archiveFileInput(file: string): Promise<string> {
  assertRegularFileInput(file, 'the archive file');
  if (!(await fsp.stat(file).catch(() => null))) {
    throw new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `there is no archive file ${file}`, { hint: '`bri archive list` shows the archives there are; a path names a file.', details: { file } });
  }
  return file;
}

/** Whether a command's argument names a file (a path, or `<name>.bri`) rather than an archive id. */
export function namesFile(idOrFile: string): boolean {
  return idOrFile.includes('/') || idOrFile.endsWith(ARCHIVE_EXTENSION);
}

/** Whether a restore's argument is an archive file to restore from: it names one, and something is there (else it is judged as an id: "x/y" is no id). */
export function namesArchiveFile(idOrFile: string): boolean {
  return namesFile(idOrFile) && fs.existsSync(path.resolve(idOrFile));
}

/** A file verified for an id must hold that archive: a whole archive under another's name is not the one asked for. */
export function namedAs(idOrFile: string, file: string, report: VerifyReport): VerifyReport {
  return namesFile(idOrFile) ? report : heldAs(idOrFile, file, report);
}

/** The id an archive file's name gives (`<id>.bri`), when it is a valid one. */
export function idOfFile(file: string): string | null {
  const name = path.basename(file, ARCHIVE_EXTENSION);
  try {
    return assertArchiveId(name);
  } catch {
    return null;
  }
}

/**
 * Not found where every source was read; else the error of a source that could not be (the archive may be there).
 * A copy under its name that cannot be used (another archive's bytes, damage) is said: "no archive" alone reads as no file.
 */
export function notFound(id: string, where: string, unread: MergedListing['unreachable'] = [], unusable: MergedListing['unreadable'] = []): BriError {
  const under = unusable.filter((u) => u.archiveId === id);
  const why = under.map((u) => `; the copy on ${u.source} (${u.location}) cannot be used: ${u.error.message}`).join('');
  return notFoundUnlessUnread(
    new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `no archive ${id} in ${where}${why}`, {
      hint: '`bri archive list` shows the archives there are, and where each copy is.',
      details: { archiveId: id, ...(under.length ? { unusable: under.map((u) => ({ source: u.source, location: u.location, reason: u.error.message })) } : {}) },
    }),
    unread,
  );
}

/**
 * A repair by id finds no local file. An archive whose copies are elsewhere is no "not found": repair works on a file,
 * and the download that fetches a remote copy into the archive directory repairs it with its PAR2 data on the way.
 */
export function noLocalFile(id: string, file: string, elsewhere: CatalogArchive | undefined): BriError {
  if (!elsewhere) {
    return new BriError(ErrorCodes.ARCHIVE_NOT_FOUND, `there is no archive file ${file}`, {
      hint: '`bri archive list` shows the archives there are; a path names a file.',
      details: { archiveId: id, file },
    });
  }
  const on = elsewhere.copies.map((c) => c.source);
  const from = on.find((s) => s !== LOCAL_SOURCE) ?? on[0]!;
  return new BriError(ErrorCodes.USAGE, `archive ${id} has no file in the archive directory to repair: its copies are on ${on.join(', ')}`, {
    hint: `\`bri archive download ${id} ${shellArg(path.dirname(file) + path.sep)} --source ${from}\` fetches the copy on ${from} into the archive directory, repairing it with its PAR2 data on the way (\`bri archive verify ${id}\` says first whether it needs it).`,
    details: { archiveId: id, file, sources: on },
  });
}

export interface UnreadableArchiveCopy {
  copy: ArchiveCopy;
  /** Why its manifest cannot be read (the listing's error). */
  error: BriError;
  /** In an archive tier (S3 Glacier, Azure Archive): whole, perhaps, once thawed. */
  frozen: boolean;
}

interface Where {
  sources: ArchiveSources;
  archiveDir: string;
}

/** The unreadable copies of `id` on the sources `names`: the archive directory's `<id>.bri`, a remote's object of that id. */
export async function unreadableCopiesOf(unreadable: readonly UnreadableCopy[], id: string, names: readonly string[], where: Where): Promise<UnreadableArchiveCopy[]> {
  const out: UnreadableArchiveCopy[] = [];
  for (const u of unreadable) {
    if (!names.includes(u.source)) continue;
    if (u.source === LOCAL_SOURCE) {
      if (u.location !== path.join(where.archiveDir, id + ARCHIVE_EXTENSION)) continue;
      const st = await fsp.lstat(u.location).catch(() => null);
      if (st) out.push({ copy: { source: LOCAL_SOURCE, provider: 'local', location: u.location, file: u.location, bytes: st.size, recorded: false, damaged: true }, error: u.error, frozen: false });
      continue;
    }
    const remote = where.sources.remote(u.source);
    if (u.archiveId !== id || !remote) continue;
    const frozen = isColdObject(u.error);
    const copy: ArchiveCopy = { source: u.source, provider: remote.config.provider, location: u.location, key: archiveObjectKey(id), bytes: 0, recorded: false, ...(frozen ? { frozen: true as const } : { damaged: true as const }) };
    out.push({ copy, error: u.error, frozen });
  }
  return out;
}

/** What an unreadable copy is, and the commands that work on it. */
function about(id: string, u: UnreadableArchiveCopy): { what: string; next: string } {
  const s = u.copy.source;
  const keep = `\`bri archive download ${id} <file> --source ${s} --no-verify\` writes it as it is stored, to examine or repair elsewhere`;
  const remove = `\`bri archive delete ${id} --source ${s} --force\` removes it`;
  return {
    what: `${s}'s copy of ${id} (${u.copy.location}) cannot be read: ${u.error.message}`,
    // A local entry that is no file, or another archive's file, has a hint of its own (put it back, rename it).
    next: u.frozen ? `It is in an archive tier: \`bri archive thaw ${id} --source ${s}\` asks for it back; ${remove} anyway.` : `${u.error.details?.misplaced === true && u.error.hint ? `${u.error.hint} ` : ''}Nothing in it can be read, PAR2 data included: ${keep}; ${remove}.`,
  };
}

/** Deleting an unreadable copy loses nothing any command can read, but what it holds cannot be checked either: it takes --force. */
export function unreadableDeleteRefused(id: string, copies: readonly UnreadableArchiveCopy[]): BriError {
  const first = about(id, copies[0]!);
  return new BriError(ErrorCodes.USAGE, `${first.what}; what it holds cannot be checked, so it is not deleted without --force`, {
    hint: first.next,
    details: { archiveId: id, sources: copies.map((u) => u.copy.source) },
  });
}

/** A download verifies what it writes: an unreadable copy cannot be, and the error says how to take it as it is. */
export function unreadableNotVerified(id: string, copies: readonly UnreadableArchiveCopy[]): BriError {
  const first = about(id, copies[0]!);
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `no good copy of archive ${id}: ${copies.map((u) => about(id, u).what).join('; ')}`, {
    hint: first.next,
    details: { archiveId: id, tried: copies.map((u) => ({ source: u.copy.source, code: u.error.code })) },
  });
}

/** The copy's bytes as stored, in a scratch file of `dir` the caller removes (a remote's object downloaded, a local file copied). */
export async function fetchAsStored(u: UnreadableArchiveCopy, dir: string, where: Where): Promise<string> {
  const file = scratchPath(await existingDir(dir), `download-${path.basename(u.copy.location)}-from-${u.copy.source}`);
  try {
    if (u.copy.source === LOCAL_SOURCE) await fsp.copyFile(u.copy.file!, file, fsp.constants.COPYFILE_EXCL);
    else {
      const store = where.sources.remote(u.copy.source)!.store;
      const head = await store.head(u.copy.key!);
      await downloadRanged(store, u.copy.key!, file, { size: head.size });
    }
    return file;
  } catch (err) {
    await fsp.rm(file, { force: true });
    throw err;
  }
}

/** Writes the first unreadable copy that can be fetched to `target` as it is stored, durably (a download taken unverified). */
export async function downloadAsStored(id: string, copies: readonly UnreadableArchiveCopy[], target: string, where: Where): Promise<DownloadedArchive> {
  await makeDirs(path.dirname(target));
  let last: unknown;
  for (const u of copies) {
    let tmp: string | null = null;
    try {
      tmp = await fetchAsStored(u, path.dirname(target), where);
      const bytes = (await fsp.stat(tmp)).size;
      await commitFile(tmp, target);
      return { archiveId: id, file: target, bytes, source: u.copy.source, skipped: [], repaired: null, recoveryDamaged: null };
    } catch (err) {
      if (tmp !== null) await fsp.rm(tmp, { force: true });
      last = err;
    }
  }
  throw last;
}

/** Verifies the copy as it is stored, which says what is wrong with it; reported under the copy's location. */
export async function verifyAsStored(id: string, u: UnreadableArchiveCopy, where: Where, opts: VerifyOptions): Promise<VerifyReport> {
  const file = await fetchAsStored(u, where.archiveDir, where);
  try {
    return heldAs(id, u.copy.location, asDamage(await verifyArchive(file, { ...opts, name: u.copy.location })));
  } finally {
    await fsp.rm(file, { force: true });
  }
}

/** Repairs the copy as it is stored into `out` (`inFolder`: a folder of its own, removed again if the repair fails). */
export async function repairAsStored(id: string, u: UnreadableArchiveCopy, out: string, inFolder: boolean, where: Where): Promise<RepairResult> {
  const fetched = await fetchAsStored(u, where.archiveDir, where);
  try {
    // Another archive's bytes under this id are no copy of it: not "intact", and not written out as its repaired copy.
    const held = await readManifest(fetched).then((m) => m.archiveId, () => id);
    if (held !== id) throw new Error(`it holds archive ${held}, not ${id}`);
    const result = await repairInto(fetched, out, inFolder);
    if (result.archiveId !== id) {
      if (result.repaired) await fsp.rm(result.file, { force: true });
      throw new Error(`it holds archive ${result.archiveId}, not ${id}`);
    }
    // An intact copy writes nothing: the file it names is the copy, not the scratch download read (removed below).
    return result.repaired ? result : { ...result, file: u.copy.location };
  } catch (err) {
    throw isBriError(err, ErrorCodes.IO_ERROR) || isBriError(err, ErrorCodes.USAGE) ? err : unreadableNotRepaired(id, u, err, fetched);
  } finally {
    await fsp.rm(fetched, { force: true });
  }
}

/** Repairs `file` into `out`; `inFolder`: a folder of its own, removed again when the repair fails or finds nothing to write. */
export async function repairInto(file: string, out: string, inFolder: boolean): Promise<RepairResult> {
  if (!inFolder) return repairArchive(file, out);
  const result = await repairIntoNewFolder(file, out);
  if (!result.repaired) await fsp.rmdir(path.dirname(out)).catch(() => undefined);
  return result;
}

/** Why repairing an unreadable copy failed, with what is left to do. */
function unreadableNotRepaired(id: string, u: UnreadableArchiveCopy, err: unknown, fetched: string): BriError {
  // The repair names the download it read: the copy's own place is what the user knows.
  const why = (err instanceof Error ? err.message : String(err)).split(fetched).join(u.copy.location);
  return new BriError(ErrorCodes.ARCHIVE_CORRUPTED, `${about(id, u).what}; repairing it failed: ${why}`, {
    hint: `${about(id, u).next} A restore can start from an earlier archive (\`bri restore list\`).`,
    details: { archiveId: id, source: u.copy.source },
    cause: err,
  });
}

/** An archive file adopted into an archive directory; `undo` removes what the adoption added (nothing when the archive was there already). */
export interface AdoptedFile {
  archiveId: string;
  /** The caller's file, as resolved (never written). */
  file: string;
  /** What the check mended on the copy (null: it was whole, or not checked). */
  repaired: { damagedBlocks: number; repairedBlocks: number } | null;
  undo: () => Promise<void>;
}

/**
 * An archive handed over as a file (`bri restore from ./backup.bri`) put into the archive directory as `<id>.bri`,
 * durably, where every later step finds it like any other: the restore by its id, then list, to-timestamp, the next
 * create's chain, prune. With `check`, its bytes are checked against its PAR2 data and mended on the way (the copy
 * kept is whole; the caller's file is never written); without, only a manifest that does not read is repaired. An
 * archive of that id already there is used only when it is the same bytes: another copy (rekeyed, or rotted) is the
 * user's to choose between.
 */
export async function adoptArchiveFile(file: string, archiveDir: string, check: boolean): Promise<AdoptedFile> {
  const given = await archiveFileInput(path.resolve(file));
  const made = await makeDirs(archiveDir);
  let copy = scratchPath(archiveDir, 'adopted');
  let repaired: AdoptedFile['repaired'] = null;
  let placed: string | null = null;
  const removeDirs = async (): Promise<void> => {
    for (let d = archiveDir; made !== undefined && d.startsWith(made); d = path.dirname(d)) await fsp.rmdir(d).catch(() => undefined);
  };
  // The copy's bytes repaired, when they need it: the copy is replaced by the repaired one.
  const mend = async (): Promise<void> => {
    const r = await repairArchive(copy, scratchPath(archiveDir, 'adopted-repaired'));
    if (!r.repaired) return;
    await fsp.rm(copy, { force: true });
    [copy, repaired] = [r.file, { damagedBlocks: r.damagedBlocks, repairedBlocks: r.repairedBlocks }];
  };
  try {
    await fsp.copyFile(given, copy, fsp.constants.COPYFILE_FICLONE);
    // A manifest that does not read is repaired first (the id is in it); else the check waits until the copy is to be kept.
    let mended = false;
    const manifest = await readManifest(copy).catch(async (err: unknown) => {
      await mend().catch((e: unknown) => Promise.reject(check ? e : err));
      mended = true;
      return readManifest(copy);
    });
    const id = manifest.archiveId;
    const target = path.join(archiveDir, archiveFileName(id));
    if (await pathExists(target)) {
      await fsp.rm(copy, { force: true });
      if (await sameBytes(target, given)) return { archiveId: id, file: given, repaired, undo: async () => undefined };
      throw new BriError(ErrorCodes.RESTORE_ERROR, `archive ${id} (the file ${given}) is in the archive directory already, as other bytes: ${target}`, {
        hint: `Restore that copy by its id (\`bri restore from ${id}\`: it is verified and repaired first), or move it out of the archive directory to restore from ${shellArg(given)}. A rekeyed archive keeps its id; \`bri archive verify\` says which copy is whole.`,
        details: { archiveId: id, file: given, existing: target },
      });
    }
    if (check && !mended) await mend();
    // Renamed in, then the directory's fsync failed: the name is there, not durable; taken out like the copy.
    placed = target;
    await commitFile(copy, target);
    return {
      archiveId: id,
      file: given,
      repaired,
      undo: async () => {
        await fsp.rm(target, { force: true });
        await removeDirs();
      },
    };
  } catch (err) {
    await fsp.rm(copy, { force: true });
    if (placed !== null) await fsp.rm(placed, { force: true });
    await removeDirs();
    throw namingFile(err, copy, given, archiveDir);
  }
}

/**
 * An error about the scratch copy said of what the caller knows (the copy is gone): what the archive holds, of the
 * file given; a failed system call (a full disk), of the archive directory it was copied into.
 */
function namingFile(err: unknown, copy: string, given: string, archiveDir: string): unknown {
  const e = typedIoError(err, `copying ${given} into the archive directory`);
  if (!isBriError(e) || !`${e.message} ${e.hint ?? ''}`.includes(copy)) return e;
  const swap = (t: string) => t.split(copy).join(isBriError(err) ? given : archiveDir);
  return new BriError(e.code, swap(e.message), { ...(e.hint !== undefined ? { hint: swap(e.hint) } : {}), details: { ...e.details, file: given }, cause: err });
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  const [sa, sb] = await Promise.all([fsp.stat(a), fsp.stat(b)]);
  if (sa.size !== sb.size) return false;
  const [ha, hb] = await Promise.all([fileSha256(a), fileSha256(b)]);
  return ha.sha256 === hb.sha256;
}

/**
 * `run` on the archive a restore names as a file, adopted into `archiveDir` (adoptArchiveFile) and read from there
 * alone: the file is the source, never a remote copy of that id. Kept by a restore in place (`keepFor`: the data
 * directory) that succeeded, or that failed after the restored directory was swapped in (it records that archive
 * as its last); a dry run, a question, a clone and a failure before the swap leave the archive directory as they found it.
 */
export async function onArchiveFile<T>(file: string, archiveDir: string, opts: { source: string | undefined; keepFor: string | null; check: boolean }, run: (adopted: AdoptedFile) => Promise<T>): Promise<T> {
  if (opts.source !== undefined && opts.source !== LOCAL_SOURCE) {
    throw new BriError(ErrorCodes.USAGE, `an archive file (${file}) is its own source: --source ${opts.source} names another`, { hint: `Leave --source out to restore from ${shellArg(file)}, or give the archive's id to restore it from ${opts.source}.`, details: { file, source: opts.source } });
  }
  const adopted = await adoptArchiveFile(file, archiveDir, opts.check);
  const result = await run(adopted).catch(async (err: unknown) => {
    const swapped = opts.keepFor !== null && (await readArchiveState(opts.keepFor).catch(() => null))?.last?.archiveId === adopted.archiveId;
    if (!swapped) await adopted.undo();
    throw err;
  });
  if (opts.keepFor === null) await adopted.undo();
  return result;
}

/** A restore from an adopted file: what its check mended, said as the restore's own repair. */
export function fromAdoptedFile<R extends { repaired: AdoptedFile['repaired']; warnings: string[] }>(result: R, adopted: AdoptedFile): R {
  if (!adopted.repaired) return result;
  const said = `${adopted.file} was damaged (${adopted.repaired.damagedBlocks} blocks): repaired with its PAR2 data on the copy put in the archive directory; the file itself is unchanged`;
  return { ...result, repaired: result.repaired ?? adopted.repaired, warnings: [...result.warnings, said] };
}

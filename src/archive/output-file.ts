/**
 * Where `archive download` and `archive repair --out` write: the path the caller gave, a directory meaning
 * into it, refused (USAGE) before anything is fetched or repaired where writing would lose something or
 * leave a file the listings misread (checkOutputFile: the data directory, a local remote, the archive
 * directory under another name than the archive's own).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BriError, ErrorCodes } from '../errors.js';
import { checkOutputFile, isArchivesOwnFile, type LocationSettings } from './copies/locations.js';
import { assertDirectoryInput, assertRegularFileInput } from './package/input-file.js';

/**
 * The file a download or a repaired copy is written to: a directory (existing, or named with a trailing
 * slash: made if missing) means into it under `fileName` (`<archiveId>.bri` whenever the archive is known,
 * as the archive directory takes no other name); an existing file or symbolic link is replaced only with
 * `force` (the link itself, never what it points to: the file is renamed into place), but for the
 * archive's own file in the archive directory; a FIFO, a device, a socket or a directory is never
 * replaced (a rename would put a regular file where a device was).
 */
export function outputFileFor(given: string, fileName: string, s: LocationSettings, what: string, archiveId: string | null, force: boolean): string {
  if (given === '') throw new BriError(ErrorCodes.USAGE, `${what} is empty`, { hint: `Give ${what} as a file, or a directory to write ${fileName} into.` });
  const named = path.resolve(given);
  const intoDir = given.endsWith('/') || given.endsWith(path.sep) || isDirectory(named);
  if (intoDir) assertDirectoryInput(named, what);
  const file = intoDir ? path.join(named, fileName) : named;
  checkOutputFile(file, s, what, archiveId);
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (st === undefined) return file;
  if (st.isSymbolicLink()) {
    if (!force) throw existingOutput(what, file, `a symbolic link (to ${fs.readlinkSync(file)})`, '--force (force: true) replaces the link itself, not the file it points to');
    return file;
  }
  assertRegularFileInput(file, what);
  // The archive's own file is replaced by a verified (or repaired) copy of the same archive: nothing is lost.
  if (!force && !isArchivesOwnFile(file, s, archiveId)) throw existingOutput(what, file, 'an existing file', '--force (force: true) replaces it');
  return file;
}

function isDirectory(p: string): boolean {
  try {
    return fs.statSync(p, { throwIfNoEntry: false })?.isDirectory() === true;
  } catch {
    return false;
  }
}

// Reached only outside the archive directory (checkOutputFile refuses any other name there): a new name is safe here.
function existingOutput(what: string, file: string, kind: string, force: string): BriError {
  return new BriError(ErrorCodes.USAGE, `${what} ${file} is ${kind}: not replaced without --force`, {
    hint: `Give a new name or a directory to write into; ${force}.`,
    details: { path: file },
  });
}

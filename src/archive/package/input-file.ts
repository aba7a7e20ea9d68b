/**
 * Files a caller names as input (an archive to inspect, verify or repair, a config file) must be
 * regular files: /dev/zero, a FIFO or a directory would make a reader wait forever or read
 * without end; a directory named as one (an archive directory, a restore target) must be a
 * directory when it exists. Checked with stat, before anything opens them.
 */
import * as fs from 'node:fs';
import { BriError, ErrorCodes } from '../../errors.js';
import { kindOfFile } from '../../store/files/regular-file.js';

/**
 * Throws USAGE when `file` exists and is not a regular file (links are followed). A missing or
 * unreadable file passes: whatever reads it next reports that in its own words.
 */
export function assertRegularFileInput(file: string, what: string): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(file, { throwIfNoEntry: false });
  } catch {
    return;
  }
  if (st && !st.isFile()) {
    throw new BriError(ErrorCodes.USAGE, `${what} ${file} is ${kindOfFile(st)}, not a regular file`, {
      hint: `Give the path of a regular file as ${what}.`,
      details: { file },
    });
  }
}

/** Throws USAGE when `dir` exists and is not a directory (links are followed); a missing one passes (it may be made). */
export function assertDirectoryInput(dir: string, what: string): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir, { throwIfNoEntry: false });
  } catch {
    return;
  }
  if (st && !st.isDirectory()) {
    throw new BriError(ErrorCodes.USAGE, `${what} ${dir} is ${st.isFile() ? 'a file' : kindOfFile(st)}, not a directory`, {
      hint: `Give ${what} as a directory (or a path where one can be made).`,
      details: { dir },
    });
  }
}

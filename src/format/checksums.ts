/** checksums.sha256: "<hex>  <path>" lines, the format `sha256sum -c` reads. */
import { BriError, ErrorCodes } from '../errors.js';

export function formatChecksums(entries: ReadonlyArray<readonly [path: string, sha256: string]>): string {
  return entries.map(([p, h]) => `${h}  ${p}\n`).join('');
}

/** Parses the file strictly: every line must be `<64 hex>  <path>`, each path once. */
export function parseChecksums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const [i, line] of lines.entries()) {
    const m = /^([0-9a-f]{64}) [ *]([^\n]+)$/.exec(line);
    if (!m || out.has(m[2]!)) {
      throw new BriError(ErrorCodes.ARCHIVE_INVALID, `checksums.sha256 line ${i + 1} is malformed or repeated`, {
        hint: 'The archive is damaged; try `bri archive repair` or another copy.',
      });
    }
    out.set(m[2]!, m[1]!);
  }
  return out;
}

/** The whole-content checksum: sha256 over the sorted "path  hash" lines of the data members. */
export function contentDigestInput(members: Record<string, string>): string {
  return Object.keys(members)
    .sort()
    .map((p) => `${p}  ${members[p]}\n`)
    .join('');
}

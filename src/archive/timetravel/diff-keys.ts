/**
 * A diff reads less before its first moment. The two moments can differ only in the documents and set
 * members a line between them touches, so before the first moment only the lines that concern those
 * names matter (with the renames into them): the names are read first, on the decoder threads, from the
 * members that hold the lines between the moments, then the members wholly before the first moment are
 * searched there for those names alone (decoder mode `keys`), and the main thread applies a tenth of the
 * lines it did. Where that cannot be done exactly (a line that is no plaintext entry, lines past the
 * archives, a gap between archives, a copy not local), the diff reads every line as before.
 */
import type { Manifest, ManifestSegment } from '../../format/manifest.js';
import { decodeOperation } from '../../format/operation.js';
import { parseWalLine } from '../../format/wal-line.js';
import { DecodedMember, type DecodeMode, type TouchedNames } from '../package/decoder/member-decoder.js';
import { MemberSource } from './member-bytes.js';
import { planMembers } from './member-feed.js';
import type { ScanInput } from './scan.js';

/** What a scan before a diff's first moment keeps (ScanOptions.prefilter). */
export interface KeyPrefilter {
  /** The diff's first moment: members whose lines are all stamped at or before it are filtered. */
  before: number;
  /** The names the lines after it touch; null: every line is read. Never rejects. */
  names: Promise<TouchedNames | null>;
}

/** More names than this and a scan reads every line (each decoder job takes the names with it). */
const MAX_NAMES = 200_000;
/** Every RENAME line holds this (a line holding it is parsed to know). */
const RENAME_NEEDLE = Buffer.from('"RENAME"');
const RENAME_ACTION = '"action":"RENAME"';
/** Members decoded at once for their names (each holds its decompressed bytes meanwhile). */
const AT_ONCE = 4;

/** Whether a member is searched for the names rather than read whole: each of its lines is stamped at or before `before`, in order, in plaintext. */
export function keyFiltered(m: Manifest, seg: ManifestSegment, before: number): boolean {
  return !m.contents.snapshot.encrypted && seg.timesBack === undefined && seg.lastTimestamp !== null && seg.lastTimestamp <= before;
}

/**
 * The names the lines after `at` and up to `to` touch, from the members of `input`'s archives a scan to
 * `to` reads and does not filter, with the names renamed into them in the members it filters (whose
 * RENAME lines are found by a search of their bytes); null when the diff must read every line (see the
 * module's comment).
 */
export async function namesAfter(input: ScanInput, at: number, to: number | null): Promise<TouchedNames | null> {
  if (to === null) return null;
  const plan = planMembers(input.archives, to);
  const manifests = input.archives.map((a) => a.manifest);
  // The scan must end inside the archives (it stops before a member, or at a line, past `to`) and read
  // them without a gap (a later snapshot would replace documents whose earlier lines were skipped).
  const endsInside = plan.at(-1)?.segment !== manifests.at(-1)?.contents.segments.at(-1) || plan.some((p) => p.segment.lastTimestamp !== null && p.segment.lastTimestamp > to);
  if (!endsInside) return null;
  const used = [...new Set(plan.map((p) => p.archive))];
  if (used.some((i, n) => manifests[i]!.encryption !== undefined || (n > 0 && manifests[i]!.timeRange.walLines.start > manifests[used[n - 1]!]!.timeRange.walLines.end))) return null;
  if (!plan.some((p) => keyFiltered(manifests[p.archive]!, p.segment, at))) return null;
  const sources = new Map(used.map((i) => [i, new MemberSource(input.archives[i]!, input.sources, input.order, input.counter, input.goodCopies?.get(manifests[i]!.archiveId))]));
  for (const s of sources.values()) if (!(await s.local())) return null;
  const keys = new Set<string>();
  const pairs = new Set<string>();
  /** The renames of the members searched, in line order: [old key, new key]. */
  const renames: Array<[string, string]> = [];
  const running: Array<{ member: DecodedMember; before: boolean }> = [];
  try {
    let next = 0;
    const start = async () => {
      const p = plan[next++]!;
      const before = keyFiltered(manifests[p.archive]!, p.segment, at);
      const { data, stored } = await sources.get(p.archive)!.whole(p.segment.file);
      const mode: DecodeMode = before ? { kind: 'filter', needles: [RENAME_NEEDLE] } : { kind: 'names' };
      running.push({ member: new DecodedMember(data, { member: p.segment.file, limit: p.segment.originalSize, mode, stored, lines: p.segment.lastLine - p.segment.firstLine + 1 }), before });
    };
    while (next < plan.length && running.length < AT_ONCE) await start();
    while (running.length > 0) {
      const { member, before } = running[0]!;
      if (before) {
        // (A line that only holds the word, in a name or a value, is no rename.)
        for await (const found of member.found()) for (const text of found.texts) if (text.includes(RENAME_ACTION)) addNames(text, keys, pairs, renames);
      } else {
        const names = await member.names();
        if (names === null) return null;
        for (const k of names.keys) keys.add(k);
        for (const p of names.pairs) pairs.add(p);
        // A line with an escaped name: parsed here, its names added as text (the search keeps every such line
        // before the moment, and matches a plain one by the text's bytes).
        for (const text of names.odd) addNames(text, keys, pairs, null);
      }
      running.shift();
      if (keys.size + pairs.size > MAX_NAMES) return null;
      if (next < plan.length) await start();
    }
  } finally {
    for (const r of running) r.member.cancel();
  }
  // Renames kept from before the moment into those names: their old names too (going back: a chain whole).
  return withRenamesInto({ keys: [...keys], pairs: [...pairs] }, renames) ?? { keys: [...keys], pairs: [...pairs] };
}

/** The names a WAL line touches, added (a RENAME before the moment: said in `renames` and not added). */
function addNames(text: string, keys: Set<string>, pairs: Set<string>, renames: Array<[string, string]> | null): void {
  const op = decodeOperation(parseWalLine(text)!.entry);
  if (renames !== null) {
    if (op.action === 'RENAME') renames.push([op.oldKey, op.target]);
    return;
  }
  if (op.action === 'SADD' || op.action === 'SREM') pairs.add(`${op.target}\0${op.member}`);
  else keys.add(op.target);
  if (op.action === 'RENAME') keys.add(op.oldKey);
}

/**
 * `names` with the old names of the renames (passed before the first moment) into them, and into
 * those; null when no rename adds one. namesAfter adds them before the scan; a scan that
 * still passes one (a rename it could not see in the bytes: an encrypted entry) runs again with it.
 */
export function withRenamesInto(names: TouchedNames | null, renames: readonly (readonly [string, string])[]): TouchedNames | null {
  if (names === null) return null;
  const keys = new Set(names.keys);
  const before = keys.size;
  // Taken in any order, to a fixed point: a name more than needed (renamed into a followed one only after
  // that one's value was taken) costs only its lines, and the check after the scan then finds none missing.
  for (let grew = true; grew; ) {
    grew = false;
    for (let i = renames.length - 1; i >= 0; i--) {
      const [old, target] = renames[i]!;
      if (keys.has(target) && !keys.has(old)) [grew] = [true, keys.add(old)];
    }
  }
  return keys.size === before ? null : { keys: [...keys], pairs: names.pairs };
}

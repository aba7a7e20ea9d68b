/**
 * The names a time-travel answer follows: some keys, a prefix, or both (documents and sets alike).
 * Plaintext WAL entries are JSON that names their target (and a RENAME's old key) as JSON strings,
 * so a line whose text holds none of the names' JSON forms cannot concern them and is not parsed.
 * A document renamed into a followed name brings a name the answer needs too (and, for a history,
 * one renamed away to); the renames a scan passes say which, all at once (`unfollowed`).
 */
import { BriError, ErrorCodes } from '../../errors.js';
import type { Operation } from '../../format/operation.js';
import type { DbState } from '../../format/state.js';

/** Every RENAME line holds its action as a JSON string (the other lines hold it only as a name or a member). */
const RENAME_NEEDLE = '"RENAME"';

export class NameSet {
  private readonly keys: Set<string>;
  /** The renames passed that may matter: new name -> the old names renamed into it. */
  private readonly renamedInto = new Map<string, Set<string>>();
  private readonly renamedFrom = new Map<string, Set<string>>();
  private everyRename = false;

  /** `forward`: a document renamed away from a followed name is followed under its new name (a history). */
  constructor(
    keys: Iterable<string>,
    readonly prefix: string | null = null,
    private readonly forward = false,
  ) {
    this.keys = new Set(keys);
  }

  has(name: string): boolean {
    return this.keys.has(name) || (this.prefix !== null && name.startsWith(this.prefix));
  }

  add(name: string): void {
    this.keys.add(name);
  }

  list(): string[] {
    return [...this.keys];
  }

  /** Whether an operation touches a followed name (as its target, or as the key a RENAME takes the value from). */
  concerns(op: Operation): boolean {
    return this.has(op.target) || (op.action === 'RENAME' && this.has(op.oldKey));
  }

  /**
   * From now on every RENAME line is read, not only the ones naming a followed name: a chain of renames
   * into a followed name is then found whole in one scan, rather than one name more per scan.
   */
  watchEveryRename(): void {
    this.everyRename = true;
  }

  /** A RENAME the scan passed. */
  passedRename(oldKey: string, target: string): void {
    if (this.has(oldKey) && this.has(target)) return;
    const link = (m: Map<string, Set<string>>, k: string, v: string) => (m.get(k) ?? m.set(k, new Set()).get(k)!).add(v);
    link(this.renamedInto, target, oldKey);
    link(this.renamedFrom, oldKey, target);
  }

  /**
   * The names the answer needs that are not followed, from the renames passed: the old name of one into a
   * needed name (its value came from there), and, going forward, the new name of one away from it.
   */
  unfollowed(): string[] {
    const found = new Set<string>();
    const todo = [...this.renamedInto.keys(), ...(this.forward ? this.renamedFrom.keys() : [])].filter((n) => this.has(n));
    const reach = (n: string) => {
      if (this.has(n) || found.has(n)) return;
      found.add(n);
      todo.push(n);
    };
    for (let n = todo.pop(); n !== undefined; n = todo.pop()) {
      for (const old of this.renamedInto.get(n) ?? []) reach(old);
      if (this.forward) for (const next of this.renamedFrom.get(n) ?? []) reach(next);
    }
    return [...found];
  }

  /** The text a raw line must hold to concern a name: each key as a JSON string, the prefix as the start of one. */
  needles(): string[] {
    const out = [...this.keys].map((k) => JSON.stringify(k));
    if (this.prefix !== null) out.push(JSON.stringify(withoutOpenPair(this.prefix)).slice(0, -1));
    if (this.everyRename) out.push(RENAME_NEEDLE);
    return out;
  }

  /** The part of a state that holds followed names. */
  restrict(state: DbState): DbState {
    const out: DbState = { documents: new Map(), collections: new Map() };
    for (const [k, v] of state.documents) if (this.has(k)) out.documents.set(k, v);
    for (const [k, v] of state.collections) if (this.has(k)) out.collections.set(k, new Set(v));
    return out;
  }
}

/**
 * A prefix ending in the first half of a surrogate pair: JSON.stringify escapes that half alone
 * (\udXXX), while a key going on with the second half is written raw (the whole character). The
 * half is left out of the needle (the names are still matched whole once a line is parsed).
 */
function withoutOpenPair(prefix: string): string {
  const last = prefix.charCodeAt(prefix.length - 1);
  return last >= 0xd800 && last <= 0xdbff ? prefix.slice(0, -1) : prefix;
}

/** Thrown by a scan when the answer needs names it did not follow: the caller scans again with them. */
export class NeedNames {
  constructor(readonly names: string[]) {}
}

/** Scans past this many are not for want of a rename (each pass after the first reads every one): the WAL grew meanwhile. */
const MAX_PASSES = 8;

/** Runs `scan` until it needs no more names than it follows (each NeedNames adds them and starts again). */
export async function scanWithClosure<T>(names: NameSet, scan: () => Promise<T>): Promise<T> {
  for (let pass = 1; ; pass++) {
    try {
      return await scan();
    } catch (err) {
      if (!(err instanceof NeedNames)) throw err;
      if (pass >= MAX_PASSES) throw keptRenaming(err.names);
      for (const n of err.names) names.add(n);
      names.watchEveryRename();
    }
  }
}

function keptRenaming(names: string[]): BriError {
  return new BriError(ErrorCodes.RESTORE_ERROR, `the answer kept needing more names renamed into the ones asked (${names.length} more after ${MAX_PASSES} reads): the database was renaming documents while it was read`, {
    hint: 'Ask again, or for a moment already past (--at, --to).',
    details: { names: names.slice(0, 20) },
  });
}

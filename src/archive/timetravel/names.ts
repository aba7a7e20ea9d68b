/**
 * The names a time-travel answer follows: some keys, a prefix, or both (documents and sets alike).
 * Plaintext WAL entries are JSON that names their target (and a RENAME's old key) as JSON strings,
 * so a line whose text holds none of the names' JSON forms cannot concern them and is not parsed.
 */
import type { Operation } from '../../format/operation.js';
import type { DbState } from '../../format/state.js';

export class NameSet {
  private readonly keys: Set<string>;

  constructor(keys: Iterable<string>, readonly prefix: string | null = null) {
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

  /** The text a raw line must hold to concern a name: each key as a JSON string, the prefix as the start of one. */
  needles(): string[] {
    const out = [...this.keys].map((k) => JSON.stringify(k));
    if (this.prefix !== null) out.push(JSON.stringify(this.prefix).slice(0, -1));
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

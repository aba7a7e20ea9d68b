/**
 * A synthetic but realistic BRI workload, shaped like the fixtures in
 * shared/fixtures/bri-sample: users and posts are added (SET, then SADD on the
 * `USER?`/`POST?` sets), users are updated (SET on the same key), users are
 * deleted as BRI does it (RENAME to `X:<key>:X`, then SREM), and some of those
 * tombstones are later purged (DELETE). Documents are JSS strings of ~150-400
 * bytes. Deterministic for a given seed.
 *
 * Line mix (per operation, on average): SET ~56%, SADD ~29%, RENAME ~6%,
 * SREM ~6%, DELETE ~3%.
 */
import type { Operation } from '../../src/format/operation.js';

/** mulberry32: a small, fast, seedable PRNG returning [0, 1). */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ID_SPACE = 36 ** 7;
/** A prime coprime with 36^7, so that n -> n * ID_MULT mod 36^7 is a bijection: ids never collide. */
const ID_MULT = 2654435761;

/** A 7-character base-36 id, unique for each n < 36^7 (like BRI's `nze166n`). */
export function idFor(n: number, salt: number): string {
  return ((n * ID_MULT + salt) % ID_SPACE).toString(36).padStart(7, '0');
}

const NAMES = ['Ada', 'Linus', 'Grace', 'Dennis', 'Margaret', 'Ken', 'Frances', 'Barbara', 'Edsger', 'Radia', 'Niklaus', 'Hedy'];
const CITIES = ['Tallinn', 'Oslo', 'Osaka', 'Austin', 'Lisbon', 'Lima', 'Nairobi', 'Montreal', 'Porto', 'Hanoi'];
const TAGS = ['["a","b"]', '["a","c"]', '["b","c"]', '["a"]', '["a","b","c"]'];
const LOREM = 'Lorem ipsum ';

interface UserRec {
  key: string;
  n: number;
  createdAt: number;
}

export interface WorkloadCounts {
  SET: number;
  SADD: number;
  RENAME: number;
  SREM: number;
  DELETE: number;
}

export class Workload {
  private readonly rng: () => number;
  private readonly salt: number;
  private readonly users: UserRec[] = [];
  private readonly tombstones: string[] = [];
  private readonly queue: Operation[] = [];
  private nextUser = 0;
  private nextPost = 0;
  readonly counts: WorkloadCounts = { SET: 0, SADD: 0, RENAME: 0, SREM: 0, DELETE: 0 };

  /** `now` gives the timestamp written into createdAt/updatedAt (the line's own clock). */
  constructor(seed: number, private readonly now: () => number = Date.now) {
    this.rng = createRng(seed);
    this.salt = Math.floor(createRng(seed ^ 0x5bd1e995)() * ID_SPACE);
  }

  private int(max: number): number {
    return Math.floor(this.rng() * max);
  }

  private pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)]!;
  }

  private userDoc(u: UserRec, updatedAt: number, withBio: boolean): string {
    // Field order and shape as BRI writes a user (see the fixtures); a bio spreads sizes to ~400 bytes.
    const bio = withBio ? `,"bio":${JSON.stringify(LOREM.repeat(1 + this.int(12)).trimEnd())}` : '';
    return (
      `{"name":"${NAMES[u.n % NAMES.length]}","email":"u${u.n}@example.com","age":${18 + (u.n % 70)},` +
      `"city":"${CITIES[u.n % CITIES.length]}","joined<!D>":${1700000000000 + u.n},"tags<!S>":${TAGS[u.n % TAGS.length]}${bio},` +
      `"$ID":"${u.key}","createdAt<!D>":${u.createdAt},"updatedAt<!D>":${updatedAt}}`
    );
  }

  private postDoc(key: string, n: number, author: string, ts: number): string {
    const body = LOREM.repeat(2 + this.int(19));
    return `{"title":"Post ${n}","author":"${author}","body":"${body}","$ID":"${key}","createdAt<!D>":${ts},"updatedAt<!D>":${ts}}`;
  }

  private addUser(): void {
    const n = this.nextUser++;
    const id = idFor(n, this.salt);
    const ts = this.now();
    const u: UserRec = { key: `USER_${id}`, n, createdAt: ts };
    this.users.push(u);
    this.queue.push({ action: 'SET', target: u.key, value: this.userDoc(u, ts, false) }, { action: 'SADD', target: 'USER?', member: id });
  }

  private addPost(): void {
    const n = this.nextPost++;
    const id = idFor(n, this.salt ^ 0x2545f491);
    const key = `POST_${id}`;
    const author = this.pick(this.users).key;
    this.queue.push({ action: 'SET', target: key, value: this.postDoc(key, n, author, this.now()) }, { action: 'SADD', target: 'POST?', member: id });
  }

  private updateUser(): void {
    const u = this.pick(this.users);
    this.queue.push({ action: 'SET', target: u.key, value: this.userDoc(u, this.now(), this.rng() < 0.7) });
  }

  private deleteUser(): void {
    const i = this.int(this.users.length);
    const u = this.users[i]!;
    this.users[i] = this.users[this.users.length - 1]!;
    this.users.pop();
    const tomb = `X:${u.key}:X`;
    this.tombstones.push(tomb);
    this.queue.push({ action: 'RENAME', target: tomb, oldKey: u.key }, { action: 'SREM', target: 'USER?', member: u.key.slice(5) });
  }

  private purgeTombstone(): void {
    const i = this.int(this.tombstones.length);
    const key = this.tombstones[i]!;
    this.tombstones[i] = this.tombstones[this.tombstones.length - 1]!;
    this.tombstones.pop();
    this.queue.push({ action: 'DELETE', target: key });
  }

  /** The next operation (one WAL line). */
  next(): Operation {
    while (this.queue.length === 0) {
      const r = this.rng();
      const few = this.users.length < 8;
      if (r < 0.28 || few) this.addUser();
      else if (r < 0.45) this.addPost();
      else if (r < 0.87) this.updateUser();
      else if (r < 0.96) this.deleteUser();
      else if (this.tombstones.length > 0) this.purgeTombstone();
      else this.updateUser();
    }
    const op = this.queue.shift()!;
    this.counts[op.action]++;
    return op;
  }
}

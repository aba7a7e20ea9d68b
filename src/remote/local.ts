/**
 * The local provider: objects are files under a root directory
 * (`<path>/<prefix>/<key>`), written durably (temp file in the same
 * directory, fsync, rename, fsync of the directory). Each object has a
 * sidecar `.<name>.bri-meta.json` holding its SHA-256, metadata and the inode
 * it describes; a sidecar that does not match the file (crash between the two
 * renames) is ignored and the SHA-256 is computed. A temp file left by a put
 * killed mid-write is removed by a later put into its directory, once stale.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BriError, ErrorCodes, ioHint, isBriError } from '../errors.js';
import { commitFile, fsyncDir, namingPath, pathExists, writeFileDurable } from '../store/durable-fs.js';
import { HashTap } from './hash-tap.js';
import { progressOf } from './streams.js';
import { compareKeys, isLocalInternalName as isInternalName, LOCAL_REMOTE_MARKER, LOCAL_SIDECAR_SUFFIX as SIDECAR_SUFFIX, LOCAL_TEMP_MARK as TEMP_MARK, STALE_TEMP_MS, storeNames, validateKey, validateListPrefix, validateRange } from './keys.js';

export { LOCAL_REMOTE_MARKER, STALE_TEMP_MS } from './keys.js';
import { checkSent, preparePut } from './put-check.js';
import { cancelled, notFound, remoteFailure, throwIfAborted, type RemoteErrorContext } from './remote-errors.js';
import type { CallOptions, GetOptions, LifecycleResult, ObjectHead, ObjectInfo, PutOptions, PutResult, PutSource, RemoteDescription, RemoteStore, ThawOptions, ThawOutcome } from './remote.js';

export interface LocalRemoteOptions {
  /** Root directory. It must exist (like a bucket); directories below it are created as needed. */
  path: string;
  /** Key prefix: a subdirectory of the root (default none). */
  prefix?: string;
}


/** One file's identity on this machine (device and inode), in the form `RemoteStore.identify` gives. */
export function fileIdentity(st: { dev: number; ino: number }): string {
  return `file:${st.dev}:${st.ino}`;
}

interface Sidecar {
  version: 1;
  ino: number;
  size: number;
  /** The file's mtime when written (absent in sidecars of older versions): a file rewritten in place, even with its old time set back (`cp -p`), has another. */
  mtimeMs?: number;
  sha256: string;
  metadata: Record<string, string>;
  contentType?: string;
}


function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

class LocalRemote implements RemoteStore {
  readonly provider = 'local' as const;
  private readonly root: string;
  private readonly prefix: string;
  /** When each directory was last swept of stale temp files. */
  private readonly swept = new Map<string, number>();

  constructor(opts: LocalRemoteOptions) {
    this.root = path.resolve(opts.path);
    this.prefix = storeNames('local', opts.prefix, this.root).prefix;
  }

  private ctx(op: string, key?: string): RemoteErrorContext {
    return { provider: 'local', op, ...(key !== undefined ? { key } : {}), bucket: this.root };
  }

  private keyPath(key: string): string {
    validateKey(key, { provider: 'local', prefix: this.prefix, root: this.root });
    const base = path.basename(key);
    if (isInternalName(base)) throw new BriError(ErrorCodes.USAGE, `key ${JSON.stringify(key)} has a name reserved by the local provider`, { details: { key } });
    return path.join(this.root, this.prefix, ...key.split('/'));
  }

  /**
   * Creates `dir` and its missing parents below the root, fsyncing the parent of each new directory so that
   * it survives a crash. Never the root itself: one gone since it was checked (a share unmounted meanwhile)
   * would be made again on this machine's disk, and the copies put there taken for the remote's.
   */
  private async mkdirsDurable(dir: string, ctx: RemoteErrorContext): Promise<void> {
    let d = this.root;
    for (const part of path.relative(this.root, dir).split(path.sep).filter(Boolean)) {
      d = path.join(d, part);
      try {
        await fsp.mkdir(d);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') continue;
        if (errnoCode(err) === 'ENOENT') await this.assertRoot(ctx);
        throw err;
      }
      await fsyncDir(path.dirname(d));
    }
  }

  private static sidecarPath(file: string): string {
    return path.join(path.dirname(file), `.${path.basename(file)}${SIDECAR_SUFFIX}`);
  }

  /** A file system failure as a remote error (ENOENT of the root: REMOTE_NOT_FOUND). */
  private fsError(err: unknown, ctx: RemoteErrorContext): BriError {
    if (isBriError(err)) return err;
    const code = errnoCode(err);
    const message = err instanceof Error ? err.message : String(err);
    if (code === 'EACCES' || code === 'EPERM') {
      return remoteFailure(ctx, `permission denied: ${message}`, { hint: `check the permissions on ${this.root}`, details: { errno: code } });
    }
    if (code === 'ENOTDIR' || code === 'EISDIR') {
      return remoteFailure(ctx, `a key and a key prefix collide on disk: ${message}`, { hint: 'in a local store a key cannot also be a directory of other keys', details: { errno: code } });
    }
    const hint = ioHint(err);
    return remoteFailure(ctx, message, { ...(hint ? { hint } : {}), details: { ...(code !== undefined ? { errno: code } : {}) }, retryable: code === 'EAGAIN' || code === 'EBUSY' });
  }

  private async assertRoot(ctx: RemoteErrorContext): Promise<void> {
    try {
      const st = await fsp.stat(this.root);
      if (!st.isDirectory()) throw new Error('not a directory');
    } catch {
      throw new BriError(ErrorCodes.REMOTE_NOT_FOUND, `local: ${ctx.op}${ctx.key !== undefined ? ` ${ctx.key}` : ''}: the directory ${this.root} does not exist`, {
        hint: `If ${this.root} is where a disk or a network share is mounted, mount it (creating the directory would put the copies on this machine's disk); else create it, or fix the path in the remote configuration.`,
        details: { provider: 'local', op: ctx.op, missing: 'directory', path: this.root, retryable: false },
      });
    }
  }

  async put(key: string, source: PutSource, opts: PutOptions): Promise<PutResult> {
    const ctx = this.ctx('put', key);
    const metadata = await preparePut(ctx, key, source, opts);
    const file = this.keyPath(key);
    throwIfAborted(opts.signal, ctx);
    await this.assertRoot(ctx);
    const dir = path.dirname(file);
    const tmp = path.join(dir, `.${path.basename(file)}${TEMP_MARK}${randomBytes(6).toString('hex')}`);
    try {
      await this.mkdirsDurable(dir, ctx);
      await this.sweepStaleTemps(dir);
      const tap = new HashTap({ maxBytes: opts.size, ...progressOf(opts) });
      await pipeline(createReadStream(source.path), tap, createWriteStream(tmp, { flags: 'wx', mode: 0o644 }), opts.signal ? { signal: opts.signal } : {});
      let st: import('node:fs').Stats;
      const handle = await fsp.open(tmp, 'r+');
      try {
        await handle.sync();
        st = await handle.stat();
        // What is on disk, not only what went through: the size the file system reports.
        if (st.size !== opts.size) checkSent(ctx, { ...tap.digests(), size: st.size }, opts);
      } finally {
        await handle.close();
      }
      const digests = tap.digests();
      checkSent(ctx, digests, opts);
      const sha256 = digests.sha256.toString('hex');
      const sidecar: Sidecar = { version: 1, ino: st.ino, size: opts.size, mtimeMs: st.mtimeMs, sha256, metadata, ...(opts.contentType !== undefined ? { contentType: opts.contentType } : {}) };
      // Sidecar first, naming the new file's inode; then the object. A crash in between leaves a
      // sidecar that does not match the file in place, which head() ignores.
      // Its temp name carries the temp mark, so that a listing never takes it for an object.
      await writeFileDurable(LocalRemote.sidecarPath(file), JSON.stringify(sidecar), `${TEMP_MARK}${randomBytes(6).toString('hex')}`);
      await commitFile(tmp, file, { synced: true });
      await this.markStore();
      return { key, size: opts.size, checksum: { algorithm: 'sha256', value: sha256 } };
    } catch (err) {
      await fsp.rm(tmp, { force: true }).catch(() => undefined);
      if (opts.signal?.aborted) throw cancelled(ctx, err);
      if (err instanceof Error && /grew past its declared size/.test(err.message)) throw remoteFailure(ctx, err.message, { details: { integrity: true } });
      throw this.fsError(namingPath(err, file), ctx);
    }
  }

  /** Marks the store's directory after its first object (LOCAL_REMOTE_MARKER says why); best effort, the object is in place. */
  private async markStore(): Promise<void> {
    const marker = path.join(this.root, this.prefix, LOCAL_REMOTE_MARKER);
    if (!(await pathExists(marker))) await writeFileDurable(marker, `{"version":1,"createdAt":"${new Date().toISOString()}"}\n`, `${TEMP_MARK}${randomBytes(6).toString('hex')}`).catch(() => undefined);
  }

  /**
   * Removes the temp files (`.<name>.bri-tmp-*`, of objects and sidecars) in `dir` that puts
   * killed mid-write left behind: those untouched for STALE_TEMP_MS. At most once per
   * STALE_TEMP_MS per directory and store; best effort (a failure here never fails the put).
   */
  private async sweepStaleTemps(dir: string): Promise<void> {
    const now = Date.now();
    if (now - (this.swept.get(dir) ?? Number.NEGATIVE_INFINITY) < STALE_TEMP_MS) return;
    this.swept.set(dir, now);
    for (const name of await fsp.readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith('.') || !name.includes(TEMP_MARK)) continue;
      const p = path.join(dir, name);
      try {
        const st = await fsp.lstat(p);
        if (st.isFile() && st.mtimeMs < now - STALE_TEMP_MS) await fsp.rm(p, { force: true });
      } catch {
        // gone meanwhile (its put finished), or not ours to remove
      }
    }
  }

  private async statObject(key: string, ctx: RemoteErrorContext): Promise<{ file: string; size: number; mtime: Date; mtimeMs: number; ino: number; dev: number }> {
    const file = this.keyPath(key);
    try {
      const st = await fsp.stat(file);
      if (!st.isFile()) throw notFound(ctx);
      return { file, size: st.size, mtime: lastChanged(st), mtimeMs: st.mtimeMs, ino: st.ino, dev: st.dev };
    } catch (err) {
      if (isBriError(err)) throw err;
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        await this.assertRoot(ctx);
        throw notFound(ctx);
      }
      throw this.fsError(err, ctx);
    }
  }

  /** The object is a file: its device and inode say whether another name (a local archive, another store) is the same bytes. */
  async identify(key: string, opts: CallOptions = {}): Promise<string | null> {
    const ctx = this.ctx('identify', key);
    throwIfAborted(opts.signal, ctx);
    try {
      return fileIdentity(await this.statObject(key, ctx));
    } catch (err) {
      if (isBriError(err, ErrorCodes.REMOTE_NOT_FOUND) && err.details.missing !== 'directory') return null;
      throw err;
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<Readable> {
    const ctx = this.ctx('get', key);
    validateRange(opts.range);
    throwIfAborted(opts.signal, ctx);
    const { file } = await this.statObject(key, ctx);
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(file, 'r');
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw notFound(ctx);
      throw this.fsError(err, ctx);
    }
    const { size } = await handle.stat();
    let start = 0;
    let end = size - 1;
    if (opts.range !== undefined) {
      if (opts.range.start >= size && !(size === 0 && opts.range.start === 0)) {
        await handle.close();
        throw remoteFailure(ctx, 'the requested range is not satisfiable', { details: { size, range: opts.range } });
      }
      start = opts.range.start;
      end = Math.min(opts.range.end, size - 1);
    }
    if (end < start) {
      // An empty object: an empty stream.
      await handle.close();
      return Readable.from([]);
    }
    return handle.createReadStream({ start, end, autoClose: true, ...(opts.signal ? { signal: opts.signal } : {}) });
  }

  async head(key: string, opts: CallOptions = {}): Promise<ObjectHead> {
    const ctx = this.ctx('head', key);
    throwIfAborted(opts.signal, ctx);
    const st = await this.statObject(key, ctx);
    // A sidecar missing, unreadable or of another file says nothing: the SHA-256 is computed below. One older than its file
    // (written again since; its time set back shows as another mtime than the one recorded) vouches for no bytes there: no SHA-256.
    const at = LocalRemote.sidecarPath(st.file);
    const [parsed, written] = await Promise.all([fsp.readFile(at, 'utf8').then((t) => JSON.parse(t) as Sidecar | null).catch(() => null), fsp.stat(at).then((s) => s.mtimeMs, () => -1)]);
    const ours = parsed?.version === 1 && parsed.ino === st.ino && parsed.size === st.size ? parsed : undefined;
    const sidecar = ours !== undefined && written >= st.mtimeMs && (ours.mtimeMs ?? st.mtimeMs) === st.mtimeMs ? ours : undefined;
    let sha256 = sidecar?.sha256;
    if (ours === undefined) {
      const tap = new HashTap();
      try {
        await pipeline(createReadStream(st.file), tap, new Writable({ write: (_chunk, _encoding, done) => done() }));
      } catch (err) {
        throw this.fsError(err, ctx);
      }
      sha256 = tap.digests().sha256.toString('hex');
    }
    return {
      key,
      size: st.size,
      lastModified: st.mtime,
      metadata: { ...(sidecar?.metadata ?? {}) },
      checksums: sha256 !== undefined ? { sha256 } : {},
      ...(sidecar?.contentType !== undefined ? { contentType: sidecar.contentType } : {}),
    };
  }

  async *list(prefix: string, opts: CallOptions = {}): AsyncIterable<ObjectInfo> {
    const ctx = this.ctx('list', prefix);
    validateListPrefix(prefix);
    await this.assertRoot(ctx);
    const slash = prefix.lastIndexOf('/');
    const dirPart = slash >= 0 ? prefix.slice(0, slash + 1) : '';
    const namePart = slash >= 0 ? prefix.slice(slash + 1) : prefix;
    const startDir = path.join(this.root, this.prefix, ...dirPart.split('/').filter((s) => s !== ''));
    yield* this.walk(startDir, dirPart, namePart, ctx, opts.signal);
  }

  /** Depth-first walk in key order: a directory sorts as `name/`, so "a-b" comes before "a/x" as in S3. */
  private async *walk(dir: string, keyBase: string, namePrefix: string, ctx: RemoteErrorContext, signal: AbortSignal | undefined): AsyncGenerator<ObjectInfo> {
    throwIfAborted(signal, ctx);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw this.fsError(err, ctx);
    }
    const items = entries
      .filter((e) => e.name.startsWith(namePrefix) && !isInternalName(e.name) && (e.isFile() || e.isDirectory()))
      .map((e) => ({ name: e.name, dir: e.isDirectory(), sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const item of items) {
      const full = path.join(dir, item.name);
      if (item.dir) {
        yield* this.walk(full, `${keyBase}${item.name}/`, '', ctx, signal);
        continue;
      }
      let st: import('node:fs').Stats;
      try {
        st = await fsp.stat(full);
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') continue; // deleted while listing
        throw this.fsError(err, ctx);
      }
      yield { key: `${keyBase}${item.name}`, size: st.size, lastModified: lastChanged(st) };
    }
  }

  async delete(key: string, opts: CallOptions = {}): Promise<void> {
    const ctx = this.ctx('delete', key);
    throwIfAborted(opts.signal, ctx);
    const file = this.keyPath(key);
    // A missing object is no error, a missing root is (as a missing bucket is): rm's force would hide it.
    await this.assertRoot(ctx);
    // unlink, not rm: rm answers a refused unlink (EPERM) with rmdir's ENOTDIR, which read as "no such object" here.
    const unlink = (p: string) =>
      fsp.unlink(p).catch((err: unknown) => {
        if (errnoCode(err) !== 'ENOENT' && errnoCode(err) !== 'ENOTDIR') throw err;
      });
    try {
      await unlink(file);
      await unlink(LocalRemote.sidecarPath(file));
    } catch (err) {
      throw this.fsError(err, ctx);
    }
    const dir = path.dirname(file);
    try {
      await fsyncDir(dir);
    } catch {
      return; // the directory itself is gone: nothing to make durable
    }
    // Prune directories left empty, up to the store's root (best effort, like S3's implicit folders).
    const stop = path.join(this.root, this.prefix);
    let d = dir;
    while (d.length > stop.length && d.startsWith(stop)) {
      try {
        await fsp.rmdir(d);
      } catch {
        break;
      }
      d = path.dirname(d);
    }
  }

  describe(): RemoteDescription {
    return { provider: 'local', location: path.join(this.root, this.prefix) + (this.prefix === '' ? '' : '/'), path: this.root, prefix: this.prefix };
  }

  /** Files are always readable. */
  async thaw(key: string, opts: ThawOptions = {}): Promise<ThawOutcome> {
    await this.head(key, opts);
    return 'readable';
  }

  async applyLifecycle(): Promise<LifecycleResult> {
    return { applied: false, reason: 'a local directory has no lifecycle rules; retention is enforced by `bri archive prune`' };
  }

  /** Nothing is held open. */
  async close(): Promise<void> {}
}

/** A store on a local directory. */
export function createLocalRemote(opts: LocalRemoteOptions): RemoteStore {
  return new LocalRemote(opts);
}

/**
 * When the file last changed: its status-change time when later than its modification time. A copy written
 * over an archive by `cp -p` or `rsync -t` keeps the old modification time, and the upload record would
 * vouch for it; the status-change time cannot be set back.
 */
function lastChanged(st: import('node:fs').Stats): Date {
  return st.ctimeMs > st.mtimeMs ? st.ctime : st.mtime;
}

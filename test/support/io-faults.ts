/**
 * Injected I/O failures for the fault tests, loaded into a child process with
 * `--import` (after tsx) and driven by $BRI_IO_FAULT, a JSON object:
 *
 *   { "code": "ENOSPC" | "EACCES" | "ENOENT" | "EISDIR" | "EIO" | "EROFS",
 *     "op": "write" | "open" | "mkdir" | "rename" | "fsync",
 *     "under": "/abs/dir",      only paths below it fail
 *     "after": 0 }              write: bytes written under `under` before the disk is full;
 *                               others: calls under `under` that succeed before every later one fails
 *
 * It wraps node:fs (callback, sync and promise forms, and FileHandle) and
 * re-exports the wrapped functions to ES modules, so the code under test sees
 * a real-looking errno error from the place it would come from (a full disk
 * fails every write once it is full, not just one). Worker threads inherit it.
 * It prints nothing; the test reads what the program under test said.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';

// The CommonJS module object: its functions can be replaced, and syncBuiltinESMExports() carries them to ES imports.
const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
type FileHandle = import('node:fs/promises').FileHandle;

interface Fault {
  code: string;
  op: 'write' | 'open' | 'mkdir' | 'rename' | 'fsync';
  under: string;
  after: number;
}

const spec = process.env.BRI_IO_FAULT ? (JSON.parse(process.env.BRI_IO_FAULT) as Fault) : null;

if (spec) await install(spec);

async function install(f: Fault): Promise<void> {
  const under = path.resolve(f.under);
  const inside = (p: unknown): boolean => {
    if (typeof p !== 'string' && !(p instanceof URL) && !Buffer.isBuffer(p)) return false;
    const abs = path.resolve(p instanceof URL ? p.pathname : String(p));
    return abs === under || abs.startsWith(under + path.sep);
  };
  const fdPaths = new Map<number, string>();
  let budget = f.after;
  const errnoError = (syscall: string, p: string | undefined): NodeJS.ErrnoException => {
    const messages: Record<string, string> = { ENOSPC: 'no space left on device', EACCES: 'permission denied', ENOENT: 'no such file or directory', EISDIR: 'illegal operation on a directory', EIO: 'i/o error', EROFS: 'read-only file system' };
    const err = new Error(`${f.code}: ${messages[f.code] ?? 'injected failure'}, ${syscall}${p ? ` '${p}'` : ''}`) as NodeJS.ErrnoException;
    err.code = f.code;
    err.errno = -1;
    err.syscall = syscall;
    if (p) err.path = p;
    return err;
  };
  /** Whether this call fails: writes past the budget, or the (after+1)th call of the op under the directory. */
  const trips = (op: Fault['op'], p: string | undefined, bytes = 0): boolean => {
    if (op !== f.op || p === undefined || !inside(p)) return false;
    if (op === 'write') {
      if (budget >= bytes) {
        budget -= bytes;
        return false;
      }
      budget = 0;
      return true;
    }
    if (budget > 0) {
      budget--;
      return false;
    }
    return true;
  };
  const writesFlag = (flags: unknown): boolean => flags === undefined ? false : typeof flags === 'number' ? (flags & (fs.constants.O_WRONLY | fs.constants.O_RDWR)) !== 0 : /[wa+]/.test(String(flags));
  const sizeOf = (data: unknown): number => (typeof data === 'string' ? Buffer.byteLength(data) : ArrayBuffer.isView(data) ? data.byteLength : Array.isArray(data) ? data.reduce((a: number, b: ArrayBufferView) => a + b.byteLength, 0) : 0);

  const cb = fs as unknown as Record<string, (...args: unknown[]) => unknown>;
  const wrapCb = (name: string, check: (args: unknown[]) => { op: Fault['op']; path: string | undefined; bytes?: number } | null, after?: (args: unknown[], result: unknown[]) => void) => {
    const orig = cb[name]!;
    cb[name] = function (this: unknown, ...args: unknown[]) {
      const c = check(args);
      const done = args[args.length - 1] as ((...r: unknown[]) => void) | undefined;
      if (c && typeof done === 'function' && trips(c.op, c.path, c.bytes)) {
        process.nextTick(() => done(errnoError(name, c.path)));
        return undefined;
      }
      if (after && typeof done === 'function') {
        args[args.length - 1] = (...r: unknown[]) => {
          after(args, r);
          done(...r);
        };
      }
      return orig.apply(this, args);
    };
  };
  const wrapSync = (name: string, check: (args: unknown[]) => { op: Fault['op']; path: string | undefined; bytes?: number } | null, after?: (args: unknown[], result: unknown) => void) => {
    const orig = cb[name]!;
    cb[name] = function (this: unknown, ...args: unknown[]) {
      const c = check(args);
      if (c && trips(c.op, c.path, c.bytes)) throw errnoError(name, c.path);
      const result = orig.apply(this, args);
      after?.(args, result);
      return result;
    };
  };
  const openCheck = (args: unknown[]) => (writesFlag(args[1]) ? { op: 'open' as const, path: String(args[0]) } : null);
  wrapCb('open', openCheck, (args, r) => {
    if (r[0] == null && typeof r[1] === 'number') fdPaths.set(r[1], path.resolve(String(args[0])));
  });
  wrapSync('openSync', openCheck, (args, fd) => typeof fd === 'number' && fdPaths.set(fd, path.resolve(String(args[0]))));
  wrapCb('write', (args) => ({ op: 'write', path: fdPaths.get(args[0] as number), bytes: sizeOf(args[1]) }));
  wrapCb('writev', (args) => ({ op: 'write', path: fdPaths.get(args[0] as number), bytes: sizeOf(args[1]) }));
  wrapSync('writeSync', (args) => ({ op: 'write', path: fdPaths.get(args[0] as number), bytes: sizeOf(args[1]) }));
  wrapCb('writeFile', (args) => (typeof args[0] === 'number' ? null : { op: 'write', path: String(args[0]), bytes: sizeOf(args[1]) }));
  wrapSync('writeFileSync', (args) => (typeof args[0] === 'number' ? null : { op: 'write', path: String(args[0]), bytes: sizeOf(args[1]) }));
  wrapCb('fsync', (args) => ({ op: 'fsync', path: fdPaths.get(args[0] as number) }));
  wrapSync('fsyncSync', (args) => ({ op: 'fsync', path: fdPaths.get(args[0] as number) }));
  wrapCb('mkdir', (args) => ({ op: 'mkdir', path: String(args[0]) }));
  wrapSync('mkdirSync', (args) => ({ op: 'mkdir', path: String(args[0]) }));
  wrapCb('rename', (args) => ({ op: 'rename', path: String(args[1]) }));
  wrapSync('renameSync', (args) => ({ op: 'rename', path: String(args[1]) }));
  wrapCb('close', () => null, (args) => fdPaths.delete(args[0] as number));
  wrapSync('closeSync', () => null, (args) => fdPaths.delete(args[0] as number));

  // Promises: the functions, and the FileHandle methods (one handle is enough to reach its prototype).
  const p = fs.promises as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const wrapP = (name: string, check: (args: unknown[]) => { op: Fault['op']; path: string | undefined; bytes?: number } | null) => {
    const orig = p[name]!;
    p[name] = async function (this: unknown, ...args: unknown[]) {
      const c = check(args);
      if (c && trips(c.op, c.path, c.bytes)) throw errnoError(name, c.path);
      return orig.apply(this, args);
    };
  };
  wrapP('writeFile', (args) => (typeof args[0] === 'object' && args[0] !== null && !(args[0] instanceof URL) && !Buffer.isBuffer(args[0]) ? null : { op: 'write', path: String(args[0]), bytes: sizeOf(args[1]) }));
  wrapP('appendFile', (args) => ({ op: 'write', path: String(args[0]), bytes: sizeOf(args[1]) }));
  wrapP('mkdir', (args) => ({ op: 'mkdir', path: String(args[0]) }));
  wrapP('rename', (args) => ({ op: 'rename', path: String(args[1]) }));
  wrapP('copyFile', (args) => ({ op: 'write', path: String(args[1]), bytes: (() => { try { return fs.statSync(String(args[0])).size; } catch { return 0; } })() }));
  const origOpen = p.open!;
  p.open = async function (this: unknown, ...args: unknown[]) {
    const c = openCheck(args);
    if (c && trips(c.op, c.path)) throw errnoError('open', c.path);
    const fh = (await origOpen.apply(this, args)) as FileHandle;
    fdPaths.set(fh.fd, path.resolve(String(args[0])));
    return fh;
  };
  syncBuiltinESMExports();
  await patchFileHandle(fdPaths, trips, errnoError, sizeOf);
}

/** FileHandle's own methods: its prototype is reached through one real handle. */
async function patchFileHandle(
  fdPaths: Map<number, string>,
  trips: (op: Fault['op'], p: string | undefined, bytes?: number) => boolean,
  errnoError: (syscall: string, p: string | undefined) => NodeJS.ErrnoException,
  sizeOf: (data: unknown) => number,
): Promise<void> {
  const h = await fs.promises.open(process.execPath, 'r');
  const proto = Object.getPrototypeOf(h) as Record<string, (...args: unknown[]) => Promise<unknown>>;
  await h.close();
  const wrap = (name: string, op: Fault['op'], bytes: (args: unknown[]) => number) => {
    const orig = proto[name]!;
    proto[name] = async function (this: FileHandle, ...args: unknown[]) {
      const at = fdPaths.get(this.fd);
      if (trips(op, at, bytes(args))) throw errnoError(name, at);
      return orig.apply(this, args);
    };
  };
  wrap('write', 'write', (a) => sizeOf(a[0]));
  wrap('writev', 'write', (a) => sizeOf(a[0]));
  wrap('writeFile', 'write', (a) => sizeOf(a[0]));
  wrap('appendFile', 'write', (a) => sizeOf(a[0]));
  wrap('sync', 'fsync', () => 0);
  wrap('datasync', 'fsync', () => 0);
  const close = proto.close!;
  proto.close = async function (this: FileHandle, ...args: unknown[]) {
    fdPaths.delete(this.fd);
    return close.apply(this, args);
  };
}

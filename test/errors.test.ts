/**
 * An I/O error's hint names the path at fault: a copy onto a full or read-only disk names the
 * destination (Node puts the source in err.path and the destination in err.dest), and a write()
 * that carries no path names the file the caller says it was writing.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { asBriError, ioHint } from '../src/errors.js';
import { useTempDirs } from './support/temp-dirs.js';

const tmp = useTempDirs('bri-io-hint-');

/** An errno error shaped as Node makes them (a real full disk needs a mount). */
function errnoError(code: string, syscall: string, p?: string, dest?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected, ${syscall}`), { code, errno: -28, syscall, ...(p ? { path: p } : {}), ...(dest ? { dest } : {}) });
}

describe('ioHint and asBriError', () => {
  it('name the destination of a copy that fails on the destination side (a real copyfile onto an existing file)', async () => {
    const dir = await tmp();
    const src = path.join(dir, 'source.bri');
    const dst = path.join(dir, 'copy.bri');
    await fsp.writeFile(src, 'a');
    await fsp.writeFile(dst, 'b');
    const err = await fsp.copyFile(src, dst, fsp.constants.COPYFILE_EXCL).catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('EEXIST');
    expect(ioHint(err)).toBe(`${dst} already exists.`);
    expect(asBriError(err, 'download').details).toMatchObject({ errno: 'EEXIST', path: src, dest: dst });
  });

  it('name the destination\'s disk when a copy finds it full, not the source\'s', () => {
    const hint = ioHint(errnoError('ENOSPC', 'copyfile', '/big/data/archives/a.bri', '/small/copy.bri'));
    expect(hint).toContain('/small/copy.bri');
    expect(hint).not.toContain('/big/');
  });

  it('name both sides of a copy refused for permission (either may be the cause)', () => {
    expect(ioHint(errnoError('EACCES', 'copyfile', '/src/a.bri', '/dst/a.bri'))).toBe('No permission for /dst/a.bri (or /src/a.bri): check its owner and mode (and its directory\'s).');
  });

  it('name the file the caller was writing when a write() error carries no path', () => {
    const err = errnoError('ENOSPC', 'write');
    expect(ioHint(err)).toContain('holding the path');
    expect(ioHint(err, '/data/wal/00000003.wal')).toContain('holding /data/wal/00000003.wal is full');
    expect(asBriError(err, 'WAL write', '/data/wal/00000003.wal').details).toMatchObject({ errno: 'ENOSPC', path: '/data/wal/00000003.wal' });
  });

  it('says what a busy path (a mount point) is', () => {
    expect(ioHint(errnoError('EBUSY', 'rename', '/data/archives'))).toContain('/data/archives is in use by the system (a mount point');
    // A rename of a mount point fails EBUSY on the source: the hint names it, not only the destination that does not exist yet.
    expect(ioHint(errnoError('EBUSY', 'rename', '/data/cold', '/data.pre-restore-1/cold'))).toContain('(or /data/cold) is in use by the system');
  });
});

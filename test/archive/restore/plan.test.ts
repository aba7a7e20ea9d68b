/**
 * Planning with a source that could not be read: "no archives" is an answer only when every source
 * was read. With the only remote unreadable (a bucket name mistyped, the server down) and nothing
 * found, the answer is that source's error (its code, so exit 40/41), naming the source.
 */
import { describe, expect, it } from 'vitest';
import { BriError, ErrorCodes } from '../../../src/errors.js';
import { instanceArchives, planRestore } from '../../../src/archive/restore/plan.js';

const bucketMissing = new BriError(ErrorCodes.REMOTE_NOT_FOUND, 's3 list archives/: bucket bkt-typo does not exist', { hint: 'Check the bucket name.' });
const down = new BriError(ErrorCodes.REMOTE_ERROR, 's3 list archives/: connect ECONNREFUSED 127.0.0.1:1');

describe('instanceArchives and planRestore with a source not read', () => {
  it('nothing found and the only remote unreadable: the remote\'s error, its code and hint, naming it', () => {
    for (const error of [bucketMissing, down]) {
      let thrown: unknown;
      try {
        planRestore([], { kind: 'latest' }, undefined, [{ source: 's3', error }]);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(BriError);
      const e = thrown as BriError;
      expect(e.code).toBe(error.code);
      expect(e.message).toContain('s3 could not be read');
      expect(e.message).toContain(error.message);
      expect(e.hint).toEqual(error.hint ?? expect.stringContaining('try again'));
      expect(e.details).toMatchObject({ unreachable: [{ source: 's3', code: error.code }] });
    }
  });

  it('an archive or an instance not found while a source was not read: the source\'s error too', () => {
    expect(() => planRestore([], { kind: 'archive', archiveId: '20260101T000000000Z-0000000000000001-00000000' }, undefined, [{ source: 's3', error: down }])).toThrow(
      expect.objectContaining({ code: ErrorCodes.REMOTE_ERROR }),
    );
    expect(() => instanceArchives([], 'inst-1', [{ source: 's3', error: bucketMissing }])).toThrow(expect.objectContaining({ code: ErrorCodes.REMOTE_NOT_FOUND, message: expect.stringContaining('no archives of instance inst-1') }));
  });

  it('every source read and nothing there: ARCHIVE_NOT_FOUND, as before', () => {
    expect(() => planRestore([], { kind: 'latest' })).toThrow(expect.objectContaining({ code: ErrorCodes.ARCHIVE_NOT_FOUND, message: 'there are no archives to restore from' }));
    expect(() => instanceArchives([], undefined, [])).toThrow(expect.objectContaining({ code: ErrorCodes.ARCHIVE_NOT_FOUND }));
  });
});

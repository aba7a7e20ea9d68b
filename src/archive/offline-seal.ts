/**
 * Sealing a data directory that no process has open (the caller holds its lock):
 * the last line gets its newline (or a torn one is cut), and a new empty segment
 * is created after a non-empty last one, as BRI's rotation does.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { EncryptionKey } from '../format/encryption.js';
import { fsyncDir } from '../store/durable-fs.js';
import { segmentName, WAL_DIR } from '../store/layout.js';
import { fixWalTail } from '../store/tail.js';
import type { Sealer } from './create.js';
import { segmentSpans } from '../store/wal-spans.js';

export function offlineSealer(dataDir: string, key: EncryptionKey | undefined): Sealer {
  return async () => {
    await fixWalTail(dataDir, key);
    const spans = await segmentSpans(dataDir);
    const last = spans[spans.length - 1];
    if (last && last.size > 0) {
      const dir = path.join(dataDir, WAL_DIR);
      await (await fsp.open(path.join(dir, segmentName(last.index + 1)), 'a', 0o644)).close();
      await fsyncDir(dir);
    }
    return { endLocalLine: last ? last.lastLine : 0 };
  };
}

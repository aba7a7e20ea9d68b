/** A directory's content as one comparable value: relative path -> sha256 (or 'dir'). */
import { createHash } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

export async function treeDigest(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(dir: string): Promise<void> {
    for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      const rel = path.relative(root, p);
      if (e.isDirectory()) {
        out[rel] = 'dir';
        await walk(p);
      } else out[rel] = createHash('sha256').update(await fsp.readFile(p)).digest('hex');
    }
  }
  await walk(root);
  return out;
}

/** Damaging one member of an archive copy on disk, where the reader finds it (for tests of damaged copies). */
import * as fsp from 'node:fs/promises';
import type { Manifest } from '../../src/format/manifest.js';
import { memberOffsets } from '../../src/archive/timetravel/member-bytes.js';

/** Flips `bytes` bytes in the middle of WAL member `segment` of the copy `file`; the member's name. */
export async function damageWalMember(file: string, manifest: Manifest, bytes: number, segment = 2): Promise<string> {
  const data = await fsp.readFile(file);
  // The members follow the manifest's tar header and body, in the manifest's order.
  const manifestSize = parseInt(data.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  const seg = manifest.contents.segments[segment]!;
  const at = memberOffsets(manifest, manifestSize).get(seg.file)!;
  const from = at.offset + Math.max(0, Math.floor(at.size / 2) - Math.floor(bytes / 2));
  for (let i = from; i < Math.min(from + bytes, at.offset + at.size); i++) data[i]! ^= 0xff;
  await fsp.writeFile(file, data);
  return seg.file;
}

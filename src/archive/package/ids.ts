/** Archive ids and names: validated before they ever become a path or an object key. */
import { randomBytes } from 'node:crypto';
import { BriError, ErrorCodes } from '../../errors.js';
import { isValidArchiveId, isValidArchiveName, isValidInstanceId } from '../../format/manifest.js';

export const ARCHIVE_EXTENSION = '.bri';

/** A new id: UTC time to the millisecond (so ids sort by creation) and 4 random bytes. */
export function newArchiveId(createdAt: Date): string {
  const t = createdAt.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `${t}-${randomBytes(4).toString('hex')}`;
}

export function assertArchiveId(id: string): string {
  if (!isValidArchiveId(id)) {
    // A file given where an id goes (an archive handed over, a download): what to do with it, not only the id rule.
    const file = id.includes('/') || /\.(bri|zst)$/.test(id);
    const rule = 'Archive ids are 1-128 letters, digits, ".", "_" and "-", starting with a letter or digit (no path separators, no ".."); `bri archive list` shows them.';
    const asFile = `"${id}" looks like a file: \`bri restore from <file>\` (and restore info, verify, clone) takes an archive file that exists; \`bri archive inspect <file>\` shows the id it holds (put in the archive directory as <id>.bri, where \`bri archive list\` finds it, it is that archive). `;
    const hint = file ? asFile + rule : rule;
    throw new BriError(ErrorCodes.USAGE, `"${id}" is not a valid archive id`, { hint, details: { archiveId: id } });
  }
  return id;
}

/** An instance id given by a caller (a clone's new id, --instance): the manifest reader's own rule. */
export function assertInstanceId(id: string, what = 'instance id'): string {
  if (!isValidInstanceId(id)) {
    throw new BriError(ErrorCodes.USAGE, `${JSON.stringify(id)} is not a valid ${what}`, {
      hint: 'Instance ids are 1-64 lowercase letters, digits, "-" and "_", starting with a letter or digit (e.g. staging, or a UUID).',
      details: { instanceId: id },
    });
  }
  return id;
}

export function assertArchiveName(name: string): string {
  if (!isValidArchiveName(name)) {
    throw new BriError(ErrorCodes.USAGE, `"${name}" is not a valid archive name`, {
      hint: 'Names are up to 100 letters, digits, spaces and . _ : @ + - characters, starting with a letter or digit.',
    });
  }
  return name;
}

export function archiveFileName(id: string): string {
  return assertArchiveId(id) + ARCHIVE_EXTENSION;
}

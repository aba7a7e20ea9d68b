/**
 * The instance id rule, alone: instance ids become paths and object keys, so the manifest reader
 * holds them to it, and the CLI checks an id it is given by the same rule without loading the
 * manifest's schema.
 */
export const INSTANCE_ID_PATTERN = '[a-z0-9][a-z0-9_-]{0,63}';
const INSTANCE_ID_RE = new RegExp(`^${INSTANCE_ID_PATTERN}$`);

export function isValidInstanceId(id: string): boolean {
  return INSTANCE_ID_RE.test(id);
}

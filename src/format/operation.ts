/** The five WAL operations and their JSS entry form, with BRI's key order. */
import { BriError, ErrorCodes } from '../errors.js';
import { decodeJss, encodeJss } from './jss.js';

export type OperationAction = 'SET' | 'DELETE' | 'RENAME' | 'SADD' | 'SREM';
export const OPERATION_ACTIONS: readonly OperationAction[] = ['SET', 'DELETE', 'RENAME', 'SADD', 'SREM'];

/** Metadata that a committed transaction attaches to each of its entries; replay ignores it. */
export interface TxnInfo {
  txnId: string;
  actions: Array<{ action: string; target: string; ts: number }>;
}

export type Operation =
  | { action: 'SET'; target: string; value: string; txn?: TxnInfo }
  | { action: 'DELETE'; target: string; txn?: TxnInfo }
  | { action: 'RENAME'; target: string; oldKey: string; txn?: TxnInfo }
  | { action: 'SADD'; target: string; member: string; txn?: TxnInfo }
  | { action: 'SREM'; target: string; member: string; txn?: TxnInfo };

function bad(message: string): BriError {
  return new BriError(ErrorCodes.WAL_CORRUPTED, message, { hint: 'The WAL entry is not a valid operation.' });
}

function stringField(obj: Record<string, unknown>, name: string): string {
  const v = obj[name];
  if (typeof v !== 'string') throw bad(`operation field "${name}" must be a string`);
  return v;
}

/** Decodes an entry's plaintext JSS into a typed operation; throws WAL_CORRUPTED when it is not one. */
export function decodeOperation(entryJss: string): Operation {
  let raw: unknown;
  try {
    // Entries are plain JSON at the top level; the JSS decoder is needed only when a key carries a tag.
    raw = JSON.parse(entryJss);
    // (The text is searched first: this runs once for every line of a restore, and a tag is rare.)
    if (entryJss.includes('<!') && raw !== null && typeof raw === 'object' && Object.keys(raw).some((k) => k.includes('<!'))) raw = decodeJss(entryJss);
  } catch (err) {
    throw bad(`entry is not JSS: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw bad('entry is not an object');
  const obj = raw as Record<string, unknown>;
  const target = stringField(obj, 'target');
  const op = operationOf(obj, target);
  if (obj.txn !== undefined) op.txn = obj.txn as TxnInfo;
  return op;
}

function operationOf(obj: Record<string, unknown>, target: string): Operation {
  switch (obj.action) {
    case 'SET':
      return { action: 'SET', target, value: stringField(obj, 'value') };
    case 'DELETE':
      return { action: 'DELETE', target };
    case 'RENAME':
      return { action: 'RENAME', target, oldKey: stringField(obj, 'oldKey') };
    case 'SADD':
    case 'SREM':
      return { action: obj.action, target, member: stringField(obj, 'member') };
    default:
      throw bad(`unknown action ${JSON.stringify(obj.action)}`);
  }
}

/** Encodes an operation as BRI does: action, target, then the operation's own fields, then txn. */
export function encodeOperation(op: Operation): string {
  // Every field is a string, so JSON.stringify writes exactly the JSS text; txn goes through JSS.
  const encode = op.txn === undefined ? JSON.stringify : encodeJss;
  switch (op.action) {
    case 'SET':
      return encode({ action: op.action, target: op.target, value: op.value, txn: op.txn });
    case 'DELETE':
      return encode({ action: op.action, target: op.target, txn: op.txn });
    case 'RENAME':
      return encode({ action: op.action, target: op.target, oldKey: op.oldKey, txn: op.txn });
    case 'SADD':
    case 'SREM':
      return encode({ action: op.action, target: op.target, member: op.member, txn: op.txn });
  }
}

/** What a write's fields are called to the caller who gave them. */
const FIELD_NAMES: Record<string, string> = { target: 'the key', oldKey: 'the key renamed', member: 'the member' };

/**
 * A write as a plain-JS caller may give it (`rename(undefined, 'B')`, `sAdd('S', 5)`): every field the
 * line's decoder requires to be a string is one before the line is written, else the line is acknowledged
 * and then refused by every reader (reopen, archive, restore) as WAL_CORRUPTED.
 */
export function assertWritableOperation(op: Operation): void {
  const fields: Array<[string, unknown]> = [['target', op.target]];
  if (op.action === 'RENAME') fields.push(['oldKey', op.oldKey]);
  if (op.action === 'SADD' || op.action === 'SREM') fields.push(['member', op.member]);
  if (op.action === 'SET') fields.push(['value', op.value]);
  for (const [field, v] of fields) {
    if (typeof v === 'string') continue;
    const name = field === 'target' && (op.action === 'SADD' || op.action === 'SREM') ? 'the set name' : (FIELD_NAMES[field] ?? `the ${field}`);
    throw new BriError(ErrorCodes.USAGE, `${op.action}: ${name} must be a string, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`, {
      hint: 'Keys, set names and set members are strings; a document is an object, an array or a string.',
      details: { field },
    });
  }
}

/**
 * Which operations make a document's history, following renames both ways: the key's own
 * operations; before a RENAME into a followed name at line L, the old key's operations up to L, back
 * to where that name last took a document (a RENAME into it, included) or last gave one away (a
 * RENAME from it, not included); after a RENAME away from a followed name at line L, the new key's
 * operations from L on, up to where that name gives the document away (a RENAME from it, included)
 * or takes another one over it (a RENAME into it, not included). Each name is followed in turn until
 * nothing new is reached. Outside those bounds a name holds another document: its changes are not
 * this one's. A RENAME of a key holding no document changes nothing (the spec's no-op): it is no
 * bound, and no change. A RENAME moves a document, never a set: a set's changes are the key's own.
 */
import type { Operation, OperationAction } from '../../format/operation.js';

export interface HistoryEntry {
  /** Absolute line of the change. */
  line: number;
  timestamp: number;
  action: OperationAction;
  /** The name the change was made under (a RENAME's new name). */
  key: string;
  /** The document after the change (its stored string); null once deleted, or for a set. */
  value: string | null;
  /** A set's members after the change (SADD, SREM). */
  members?: string[];
  renamedFrom?: string;
  renamedTo?: string;
}

export interface SeenOperation {
  op: Operation;
  line: number;
  timestamp: number;
  /** Just before the operation: the document it reads from (a RENAME's old key, else its target) and the target's set members. */
  before: { value: string | null; members: string[] | null };
}

type Window = [number, number];

/** The lines of the RENAMEs from and into each name, in line order. */
function renamesByName(ops: readonly SeenOperation[]): { from: Map<string, number[]>; into: Map<string, number[]> } {
  const from = new Map<string, number[]>();
  const into = new Map<string, number[]>();
  const push = (m: Map<string, number[]>, k: string, line: number) => (m.get(k) ?? m.set(k, []).get(k)!).push(line);
  for (const { op, line } of ops) {
    // A rename onto its own name changes nothing: it neither ends nor starts the name's document.
    if (op.action !== 'RENAME' || op.oldKey === op.target) continue;
    push(from, op.oldKey, line);
    push(into, op.target, line);
  }
  return { from, into };
}

export function lineage(key: string, seen: readonly SeenOperation[]): HistoryEntry[] {
  const ops = seen.filter(({ op, before }) => op.action !== 'RENAME' || before.value !== null);
  const windows = new Map<string, Window[]>([[key, [[-Infinity, Infinity]]]]);
  const inWindow = (name: string, line: number) => windows.get(name)?.some(([lo, hi]) => lo <= line && line <= hi) ?? false;
  const add = (name: string, w: Window): boolean => {
    const list = windows.get(name) ?? [];
    if (list.some(([lo, hi]) => lo <= w[0] && w[1] <= hi)) return false;
    windows.set(name, [...list, w]);
    return true;
  };
  const { from, into } = renamesByName(ops);
  const lastBefore = (lines: number[] | undefined, line: number) => lines?.filter((l) => l < line).at(-1) ?? -Infinity;
  const firstAfter = (lines: number[] | undefined, line: number) => lines?.find((l) => l > line) ?? Infinity;
  // (Half lines make a bound exclusive: line numbers are whole.)
  const since = (name: string, line: number): number => Math.max(lastBefore(into.get(name), line), lastBefore(from.get(name), line) + 0.5);
  const until = (name: string, line: number): number => Math.min(firstAfter(from.get(name), line), firstAfter(into.get(name), line) - 0.5);
  for (let changed = true; changed; ) {
    changed = false;
    for (const { op, line } of ops) {
      if (op.action !== 'RENAME' || op.oldKey === op.target) continue;
      if (inWindow(op.target, line)) changed = add(op.oldKey, [since(op.oldKey, line), line]) || changed;
      if (inWindow(op.oldKey, line)) changed = add(op.target, [line, until(op.target, line)]) || changed;
    }
  }
  const out: HistoryEntry[] = [];
  for (const { op, line, timestamp, before } of ops) {
    const setOp = op.action === 'SADD' || op.action === 'SREM';
    const mine = setOp ? op.target === key : inWindow(op.target, line) || (op.action === 'RENAME' && inWindow(op.oldKey, line));
    if (!mine) continue;
    const base = { line, timestamp, action: op.action, key: op.target };
    switch (op.action) {
      case 'SET':
        out.push({ ...base, value: op.value });
        break;
      case 'DELETE':
        out.push({ ...base, value: null });
        break;
      case 'RENAME':
        out.push({ ...base, value: before.value, renamedFrom: op.oldKey, renamedTo: op.target });
        break;
      case 'SADD':
      case 'SREM': {
        const members = new Set(before.members ?? []);
        if (op.action === 'SADD') members.add(op.member);
        else members.delete(op.member);
        out.push({ ...base, value: null, members: [...members] });
        break;
      }
    }
  }
  return out;
}

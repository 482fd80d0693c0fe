/**
 * Reads and rewrites `.slipway/ledger` (src/state/ledger.ts) the way its format is documented, so
 * end-to-end tests can look at one section or damage it without going through the product code.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const LEDGER = path.join('.slipway', 'ledger');

export interface LedgerFile {
  head: { v: number; json: number; list: number };
  sections: Record<string, unknown>;
  /** NUL-separated output paths. */
  list: string;
  /** Output stat records. */
  text: string;
}

/** The ledger of the checkout at `dir`, split into its parts. */
export function readLedger(dir: string): LedgerFile {
  const all = readFileSync(path.join(dir, LEDGER), 'utf8');
  const nl = all.indexOf('\n');
  const head = JSON.parse(all.slice(0, nl)) as LedgerFile['head'];
  const listAt = nl + 1 + head.json;
  return {
    head,
    sections: JSON.parse(all.slice(nl + 1, listAt)) as Record<string, unknown>,
    list: all.slice(listAt, listAt + head.list),
    text: all.slice(listAt + head.list),
  };
}

/** Writes `l` back as a ledger (lengths recomputed; `head` fields other than those kept). */
export function writeLedger(dir: string, l: LedgerFile): void {
  const json = JSON.stringify(l.sections);
  const head = { ...l.head, json: json.length, list: l.list.length };
  writeFileSync(path.join(dir, LEDGER), `${JSON.stringify(head)}\n${json}${l.list}${l.text}`);
}

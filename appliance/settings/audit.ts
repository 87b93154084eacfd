/**
 * The appliance's own audit trail of changes made on the status page: `<dataDir>/audit.jsonl`, one
 * JSON object per line, mode 0600, append-only. Changes are rare and made by a person, so the file
 * grows by a few hundred bytes a change; only its tail is read back (for the page), never all of it.
 */
import { appendFileSync, closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

export const AUDIT_FILE = 'audit.jsonl';
/** Entries kept in memory for the page. */
export const AUDIT_TAIL_ENTRIES = 50;
/** Bytes read from the end of the file at start-up to find the tail. */
const AUDIT_TAIL_BYTES = 256 * 1024;

export interface AuditChange {
  /** The setting: a config key, or `formatOverrides[ADDRESS]` for one source's pinned format. */
  readonly setting: string;
  /** Values as the config file would spell them; '' is "not set" (for a source: detect automatically). */
  readonly from: string;
  readonly to: string;
}

export interface AuditEntry {
  readonly ts: string;
  /** The status page has one account. */
  readonly who: 'admin';
  /** The browser's address on the LAN, as the status server saw it. */
  readonly address: string;
  readonly what: 'privacy' | 'sources';
  readonly changes: readonly AuditChange[];
}

export class AuditTrail {
  private readonly path: string;
  private readonly tail: AuditEntry[];

  constructor(dataDir: string) {
    this.path = join(dataDir, AUDIT_FILE);
    this.tail = readTail(this.path);
  }

  /** Appends one entry (synchronously: it is on disk before the page says "saved"). Throws on I/O failure. */
  append(entry: AuditEntry): void {
    appendFileSync(this.path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
    this.tail.push(entry);
    if (this.tail.length > AUDIT_TAIL_ENTRIES) this.tail.shift();
  }

  /** The latest entries, newest first. */
  recent(): readonly AuditEntry[] {
    return [...this.tail].reverse();
  }
}

function readTail(path: string): AuditEntry[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, AUDIT_TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    if (length < size) lines.shift(); // started mid-line
    const entries: AuditEntry[] = [];
    for (const line of lines) {
      if (line === '') continue;
      try {
        const value = JSON.parse(line) as Partial<AuditEntry>;
        if (typeof value.ts === 'string' && Array.isArray(value.changes)) entries.push(value as AuditEntry);
      } catch {
        // A torn last line (power cut mid-append) is skipped; the file itself is left as evidence.
      }
    }
    return entries.slice(-AUDIT_TAIL_ENTRIES);
  } finally {
    closeSync(fd);
  }
}

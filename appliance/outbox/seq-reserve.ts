/**
 * The durable high-water mark of the outbox's sequence numbers.
 *
 * LMDB commits reach the page cache at once but the disk only at its next sync (lmdb-js syncs
 * overlapping the following commit). After a power cut the outbox can therefore reopen with an
 * older `nextSeq` than the batches it had already published, and central drops a batch whose
 * (device, seq) it holds as a duplicate, silently. So no sequence number is used before a
 * reservation at or above it is on disk (written and fsync'd), and a reopened outbox starts above
 * the reservation: whatever LMDB lost, nothing it could have published is numbered again. The cost
 * is a gap of at most one block after a crash (central does not read gaps as loss).
 *
 * Two slot files written in turn, each overwritten in place (no new blocks on a full disk) and
 * carrying a CRC, so a write torn by the power cut leaves the other slot valid.
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

const SLOTS = ['seq-reserve.0', 'seq-reserve.1'] as const;
/** Fixed width, so an in-place overwrite never changes the file size. */
const RECORD_BYTES = 40;

function encode(value: number): Buffer {
  const body = `${value}`;
  const line = `${body} ${crc32(body).toString(16)}`;
  return Buffer.from(line.padEnd(RECORD_BYTES - 1, ' ') + '\n');
}

function decode(text: string): number | undefined {
  const [body, check] = text.trim().split(' ');
  if (!body || !check || !/^\d{1,16}$/.test(body)) return undefined;
  if (crc32(body).toString(16) !== check) return undefined;
  const value = Number(body);
  return Number.isSafeInteger(value) ? value : undefined;
}

/** The highest valid reservation in `dir`, or -1 (no file, or both slots unreadable). */
export function readSeqReservation(dir: string): number {
  let best = -1;
  for (const slot of SLOTS) {
    try {
      const value = decode(readFileSync(join(dir, slot), 'latin1'));
      if (value !== undefined && value > best) best = value;
    } catch {
      /* missing or unreadable: the other slot decides */
    }
  }
  return best;
}

/**
 * Writes `value` durably to the older slot (the one not holding the current maximum) and returns
 * only once it is fsync'd. Throws on any I/O error: the caller must then not use sequence numbers
 * above the previous reservation.
 */
export function writeSeqReservation(dir: string, value: number, previous: number): void {
  // Write the slot that does not hold `previous`, so a torn write never destroys the last good value.
  let target: string = SLOTS[0];
  try {
    if (decode(readFileSync(join(dir, SLOTS[0]), 'latin1')) === previous && previous >= 0) target = SLOTS[1];
  } catch {
    /* slot 0 missing: write it */
  }
  const path = join(dir, target);
  let fd: number;
  let created = false;
  try {
    fd = openSync(path, 'r+');
  } catch {
    fd = openSync(path, 'w', 0o600);
    created = true;
  }
  try {
    writeSync(fd, encode(value), 0, RECORD_BYTES, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  if (created) {
    // A new file's directory entry must be durable too.
    const dirFd = openSync(dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
  }
}

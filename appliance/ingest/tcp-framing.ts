/**
 * Syslog-over-TCP framing (RFC 6587), detected per connection from the first byte: a digit means
 * octet counting (`LEN SP MSG`, §3.4.1), anything else newline-terminated frames (§3.4.2). Pure:
 * feed it chunks, it calls back with each complete message. Bounded memory: a frame longer than
 * `maxMessageBytes` is cut to that length and the rest of it skipped.
 */
export interface FramingCounters {
  truncated: number;
  /** Octet-count headers that were not `digits SP`: the connection falls back to newline framing. */
  framingErrors: number;
}

const LF = 0x0a;
const SP = 0x20;
const EMPTY = Buffer.alloc(0);
/** An octet-counting header is at most 9 digits and a space. */
const OCTET_HEADER_MAX = 10;

export class SyslogFrameDecoder {
  private mode: 'unknown' | 'octet' | 'newline' = 'unknown';
  private pending: Buffer = EMPTY;
  /** Bytes of an oversized frame still to be skipped (octet mode) or skip-to-LF (newline mode, -1). */
  private skip = 0;

  constructor(
    private readonly maxMessageBytes: number,
    /** `truncated`: the frame was cut to maxMessageBytes (also counted in `counters.truncated`). */
    private readonly onFrame: (frame: Buffer, truncated: boolean) => void,
    readonly counters: FramingCounters = { truncated: 0, framingErrors: 0 },
  ) {}

  get framing(): string {
    return this.mode;
  }

  /**
   * Bytes of a frame begun and not finished, kept for the next read; -1 while the rest of an
   * oversized frame is being skipped (also unfinished); 0 between frames.
   */
  get unfinishedBytes(): number {
    return this.skip !== 0 ? -1 : this.pending.length;
  }

  push(chunk: Buffer): void {
    if (this.pending.length === 0) {
      this.scan(chunk, 0, Number.POSITIVE_INFINITY);
      return;
    }
    // Only the frame that straddles two reads is joined, from at most one frame's worth of the new
    // read: copying the whole read (64 KiB under load) would double what every read allocates.
    const pending = this.pending;
    this.pending = EMPTY;
    const joined = Buffer.concat([pending, chunk.subarray(0, this.maxMessageBytes + OCTET_HEADER_MAX)]);
    const stoppedAt = this.scan(joined, 0, pending.length);
    if (stoppedAt >= 0) this.scan(chunk, stoppedAt - pending.length, Number.POSITIVE_INFINITY);
  }

  /**
   * Frames `buf` from `pos`, stopping before a frame that starts at or after `stopAt`. Returns where
   * it stopped, or -1 when it kept an incomplete frame in `pending`.
   */
  private scan(buf: Buffer, pos: number, stopAt: number): number {
    while (pos < buf.length) {
      if (pos >= stopAt) return pos;
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      if (this.skip === -1) {
        const lf = buf.indexOf(LF, pos);
        if (lf < 0) return buf.length;
        this.skip = 0;
        pos = lf + 1;
        continue;
      }
      if (this.mode === 'unknown') {
        const first = buf[pos]!;
        this.mode = first >= 0x30 && first <= 0x39 ? 'octet' : 'newline';
      }
      const consumed = this.mode === 'octet' ? this.octetFrame(buf, pos) : this.newlineFrame(buf, pos);
      if (consumed < 0) {
        // Within a joined buffer this happens only when it holds all of the read (see push).
        this.pending = Buffer.from(buf.subarray(pos));
        return -1;
      }
      pos = consumed;
    }
    return pos;
  }

  /** Emits what is left when the peer closes (a last line without LF is still a message). */
  end(): void {
    if (this.pending.length > 0 && this.mode !== 'octet') this.emit(this.pending);
    this.pending = EMPTY;
  }

  /** Returns the position after the frame, or -1 when more bytes are needed. */
  private octetFrame(buf: Buffer, pos: number): number {
    let len = 0;
    let i = pos;
    while (i < buf.length && i - pos < 9) {
      const c = buf[i]!;
      if (c === SP) break;
      if (c < 0x30 || c > 0x39) break;
      len = len * 10 + (c - 0x30);
      i++;
    }
    // Out of bytes: even after nine digits, the next byte decides (a space, or a bad count).
    if (i >= buf.length) return -1;
    if (buf[i] !== SP || i === pos) return this.fallBack(pos);
    const start = i + 1;
    if (len > this.maxMessageBytes) {
      const available = buf.length - start;
      if (available < this.maxMessageBytes) return -1;
      this.counters.truncated++;
      this.emit(buf.subarray(start, start + this.maxMessageBytes), true);
      this.skip = len - this.maxMessageBytes;
      return start + this.maxMessageBytes;
    }
    if (buf.length - start < len) return -1;
    this.emit(buf.subarray(start, start + len));
    return start + len;
  }

  private fallBack(pos: number): number {
    this.counters.framingErrors++;
    this.mode = 'newline';
    return pos;
  }

  private newlineFrame(buf: Buffer, pos: number): number {
    const lf = buf.indexOf(LF, pos);
    if (lf < 0) {
      if (buf.length - pos <= this.maxMessageBytes) return -1;
      this.counters.truncated++;
      this.emit(buf.subarray(pos, pos + this.maxMessageBytes), true);
      this.skip = -1;
      return buf.length;
    }
    if (lf - pos > this.maxMessageBytes) {
      this.counters.truncated++;
      this.emit(buf.subarray(pos, pos + this.maxMessageBytes), true);
    } else if (lf > pos) {
      this.emit(buf.subarray(pos, lf));
    }
    return lf + 1;
  }

  private emit(frame: Buffer, truncated = false): void {
    let end = frame.length;
    while (end > 0) {
      const last = frame[end - 1];
      if (last !== 0x0d && last !== 0x00 && last !== LF) break;
      end--;
    }
    if (end > 0) this.onFrame(end === frame.length ? frame : frame.subarray(0, end), truncated);
  }
}

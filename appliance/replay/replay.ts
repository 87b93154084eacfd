/**
 * Sends syslog lines to a listener at a steady rate: the demo, tests and benchmarks all drive the
 * agent through this, over the same sockets a firewall would use.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface ReplayOptions {
  /** `udp://host:port` or `tcp://host:port`. */
  readonly to: string;
  /** Lines per second; 0 sends as fast as the socket takes them. */
  readonly rate: number;
  /** Total lines to send, cycling through `lines`; default: each line once. */
  readonly count?: number;
  readonly framing?: 'newline' | 'octet';
  /** Local address to send from (e.g. 127.0.0.2), so one replayer can stand for several firewalls. */
  readonly localAddress?: string;
  readonly onProgress?: (sent: number) => void;
}

export interface ReplayResult {
  sent: number;
  bytes: number;
  seconds: number;
}

export function parseTarget(to: string): { transport: 'udp' | 'tcp'; host: string; port: number } {
  const match = /^(udp|tcp):\/\/(\[[^\]]+\]|[^:/]+):(\d{1,5})\/?$/.exec(to);
  const port = match ? Number(match[3]) : Number.NaN;
  if (!match || port < 1 || port > 65535) {
    throw new Error(`--to must be udp://HOST:PORT or tcp://HOST:PORT, got ${JSON.stringify(to)}`);
  }
  return { transport: match[1] as 'udp' | 'tcp', host: match[2]!.replace(/^\[|\]$/g, ''), port };
}

const TICK_MS = 5;
/**
 * TCP lines go out in batches of up to this many bytes, one write each (a write per line cost the
 * replayer more CPU than the agent spends on the line, and they share the cores).
 */
const BATCH_BYTES = 64 * 1024;
const PROGRESS_EVERY = 1000;

export async function replay(lines: readonly string[], options: ReplayOptions): Promise<ReplayResult> {
  if (lines.length === 0) throw new Error('nothing to replay: the input has no lines');
  const target = parseTarget(options.to);
  const total = options.count ?? lines.length;
  // Each line that will be sent is encoded once, however often it cycles (memory: about the input's
  // size again), so sending is slicing: no per-line encoding or copying.
  const frames = encode(
    total < lines.length ? lines.slice(0, total) : lines,
    target.transport === 'udp' ? 'none' : (options.framing ?? 'newline'),
  );
  const started = process.hrtime.bigint();
  const elapsedS = () => Number(process.hrtime.bigint() - started) / 1e9;
  let sent = 0;
  const sender =
    target.transport === 'udp'
      ? await udpSender(frames, target, options.localAddress)
      : await tcpSender(frames, target, options.localAddress);
  try {
    while (sent < total) {
      const due = options.rate > 0 ? Math.min(total, Math.floor(elapsedS() * options.rate) + 1) : total;
      while (sent < due) {
        // A batch ends at each multiple of PROGRESS_EVERY, so progress is reported exactly there.
        const nextProgress = (Math.floor(sent / PROGRESS_EVERY) + 1) * PROGRESS_EVERY;
        sent = await sender.send(sent, Math.min(due, nextProgress));
        if (options.onProgress && sent % PROGRESS_EVERY === 0) options.onProgress(sent);
      }
      if (sent < total) await new Promise((r) => setTimeout(r, TICK_MS));
    }
  } finally {
    await sender.close();
  }
  return { sent, bytes: sender.bytes, seconds: elapsedS() };
}

/** Every line's frame, back to back: frame `i` is `data[starts[i]]` to `data[starts[i + 1]]`. */
interface Frames {
  readonly data: Buffer;
  readonly starts: Float64Array;
  readonly count: number;
}

/** UTF-8 frames of `lines`: bare (a UDP datagram), newline-terminated, or octet-counted (RFC 6587 §3.4.1). */
function encode(lines: readonly string[], framing: 'none' | 'newline' | 'octet'): Frames {
  const starts = new Float64Array(lines.length + 1);
  const bodies = new Float64Array(lines.length);
  let size = 0;
  for (let i = 0; i < lines.length; i++) {
    const body = Buffer.byteLength(lines[i]!);
    bodies[i] = body;
    starts[i] = size;
    size += framing === 'none' ? body : framing === 'newline' ? body + 1 : String(body).length + 1 + body;
  }
  starts[lines.length] = size;
  const data = Buffer.allocUnsafe(size);
  for (let i = 0; i < lines.length; i++) {
    let offset = starts[i]!;
    if (framing === 'octet') offset += data.write(`${bodies[i]} `, offset, 'latin1');
    offset += data.write(lines[i]!, offset, 'utf8');
    if (framing === 'newline') data[offset] = 0x0a;
  }
  return { data, starts, count: lines.length };
}

interface Sender {
  /**
   * Sends messages `from` to `to - 1` (indexes cycle through the frames), or as many of them as the
   * socket takes in one go; resolves with the index after the last one sent, once it can take more.
   */
  send(from: number, to: number): Promise<number> | number;
  /** Bytes put on the wire so far: frames for TCP, datagram payloads for UDP. */
  readonly bytes: number;
  close(): Promise<void>;
}

async function udpSender(
  frames: Frames,
  target: { host: string; port: number },
  localAddress?: string,
): Promise<Sender> {
  const socket = dgram.createSocket(net.isIPv6(target.host) ? 'udp6' : 'udp4');
  if (localAddress) await new Promise<void>((resolve) => socket.bind(0, localAddress, resolve));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.connect(target.port, target.host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  let outstanding = 0;
  let failed: Error | undefined;
  let bytes = 0;
  const drained: (() => void)[] = [];
  socket.on('error', (err) => {
    failed = err;
  });
  // One callback for every datagram: it needs nothing from the one it completes.
  const onSent = (err: Error | null) => {
    if (err) failed = err;
    outstanding--;
    if (outstanding === 0) for (const d of drained.splice(0)) d();
  };
  const { data, starts, count } = frames;
  return {
    get bytes() {
      return bytes;
    },
    send(from, to) {
      if (failed) throw failed;
      let next = from;
      // One datagram per line, as a firewall sends them; keep the kernel send queue short so the
      // requested rate is the real rate.
      while (next < to && outstanding < 256) {
        const i = next % count;
        const datagram = data.subarray(starts[i]!, starts[i + 1]!);
        outstanding++;
        socket.send(datagram, onSent);
        bytes += datagram.length;
        next++;
      }
      if (outstanding < 256) return next;
      return new Promise<number>((resolve) => drained.push(() => resolve(next)));
    },
    async close() {
      if (outstanding > 0) await new Promise<void>((resolve) => drained.push(resolve));
      socket.close();
      if (failed) throw failed;
    },
  };
}

async function tcpSender(
  frames: Frames,
  target: { host: string; port: number },
  localAddress?: string,
): Promise<Sender> {
  const socket = net.connect({
    port: target.port,
    host: target.host,
    ...(localAddress ? { localAddress } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  let failed: Error | undefined;
  let bytes = 0;
  socket.on('error', (err) => {
    failed = err;
  });
  const { data, starts, count } = frames;
  return {
    get bytes() {
      return bytes;
    },
    send(from, to) {
      if (failed) throw failed;
      if (socket.destroyed) throw new Error('connection closed by the receiver');
      // Consecutive frames up to the end of the input or BATCH_BYTES (at least one frame) are one
      // slice of the encoded input: one write, no copy.
      const first = from % count;
      const last = Math.min(first + (to - from), count);
      const limit = starts[first]! + BATCH_BYTES;
      let end = first + 1;
      while (end < last && starts[end + 1]! <= limit) end++;
      const batch = data.subarray(starts[first]!, starts[end]!);
      const next = from + (end - first);
      bytes += batch.length;
      if (socket.write(batch)) return next;
      // A receiver that dies (or is killed) while we wait must end the wait, not hang it forever.
      return new Promise<number>((resolve, reject) => {
        const onDrain = () => {
          socket.off('close', onClose);
          resolve(next);
        };
        const onClose = () => {
          socket.off('drain', onDrain);
          reject(failed ?? new Error('connection closed by the receiver'));
        };
        socket.once('drain', onDrain);
        socket.once('close', onClose);
      });
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        if (socket.destroyed) return failed ? reject(failed) : resolve();
        let settled = false;
        const settle = () => {
          if (settled) return;
          settled = true;
          if (failed) reject(failed);
          else resolve();
        };
        socket.once('close', settle);
        socket.end(settle);
      }),
  };
}

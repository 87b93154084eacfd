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

export async function replay(lines: readonly string[], options: ReplayOptions): Promise<ReplayResult> {
  if (lines.length === 0) throw new Error('nothing to replay: the input has no lines');
  const target = parseTarget(options.to);
  const total = options.count ?? lines.length;
  const started = process.hrtime.bigint();
  const elapsedS = () => Number(process.hrtime.bigint() - started) / 1e9;
  let sent = 0;
  let bytes = 0;
  const send =
    target.transport === 'udp'
      ? await udpSender(target, options.localAddress)
      : await tcpSender(target, options.framing ?? 'newline', options.localAddress);
  try {
    while (sent < total) {
      const due = options.rate > 0 ? Math.min(total, Math.floor(elapsedS() * options.rate) + 1) : total;
      while (sent < due) {
        const line = lines[sent % lines.length]!;
        bytes += await send.line(line);
        sent++;
        if (options.onProgress && sent % 1000 === 0) options.onProgress(sent);
      }
      if (sent < total) await new Promise((r) => setTimeout(r, TICK_MS));
    }
  } finally {
    await send.close();
  }
  return { sent, bytes, seconds: elapsedS() };
}

interface Sender {
  /** Sends one message; resolves with its size once the socket can take more. */
  line(text: string): Promise<number> | number;
  close(): Promise<void>;
}

async function udpSender(target: { host: string; port: number }, localAddress?: string): Promise<Sender> {
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
  const drained: (() => void)[] = [];
  socket.on('error', (err) => {
    failed = err;
  });
  return {
    line(text) {
      if (failed) throw failed;
      const buf = Buffer.from(text);
      outstanding++;
      socket.send(buf, (err) => {
        if (err) failed = err;
        outstanding--;
        if (outstanding === 0) for (const d of drained.splice(0)) d();
      });
      // Keep the kernel send queue short so the requested rate is the real rate.
      if (outstanding < 256) return buf.length;
      return new Promise<number>((resolve) => drained.push(() => resolve(buf.length)));
    },
    async close() {
      if (outstanding > 0) await new Promise<void>((resolve) => drained.push(resolve));
      socket.close();
      if (failed) throw failed;
    },
  };
}

async function tcpSender(
  target: { host: string; port: number },
  framing: 'newline' | 'octet',
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
  socket.on('error', (err) => {
    failed = err;
  });
  return {
    line(text) {
      if (failed) throw failed;
      if (socket.destroyed) throw new Error('connection closed by the receiver');
      const body = Buffer.from(text);
      const frame =
        framing === 'octet'
          ? Buffer.concat([Buffer.from(`${body.length} `), body])
          : Buffer.concat([body, Buffer.from('\n')]);
      if (socket.write(frame)) return frame.length;
      // A receiver that dies (or is killed) while we wait must end the wait, not hang it forever.
      return new Promise<number>((resolve, reject) => {
        const onDrain = () => {
          socket.off('close', onClose);
          resolve(frame.length);
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

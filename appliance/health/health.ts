/**
 * The appliance's health from systeminformation: CPU load, memory, disk, temperature, uptime.
 * Sampled in the background (some probes read /proc and /sys or spawn a tool and take a while), so
 * the status page and `/api/status` only read the last sample. A probe that fails leaves its field
 * null: a Pi without a temperature sensor is healthy, not broken.
 */
import si from 'systeminformation';

export interface HealthSample {
  /** When this sample was taken (ISO 8601); null before the first one finished. */
  readonly sampledAt: string | null;
  readonly version: string;
  /** Whole-machine CPU load, percent. */
  readonly cpuLoadPercent: number | null;
  readonly memory: {
    readonly totalBytes: number;
    readonly availableBytes: number;
    readonly usedPercent: number;
  } | null;
  /** The filesystem holding the data directory (or the fullest, when it cannot be told). */
  readonly disk: {
    readonly mount: string;
    readonly sizeBytes: number;
    readonly usedBytes: number;
    readonly usedPercent: number;
  } | null;
  readonly temperatureC: number | null;
  readonly uptimeS: number | null;
  /** Probes that failed in the last sample, with why (for the page; never thrown). */
  readonly errors: readonly string[];
}

/** The systeminformation calls used, so tests can pass failing or odd ones. */
export interface HealthProbes {
  currentLoad(): Promise<{ currentLoad: number }>;
  mem(): Promise<{ total: number; available: number }>;
  fsSize(): Promise<{ mount: string; size: number; used: number; use: number }[]>;
  cpuTemperature(): Promise<{ main: number | null }>;
  time(): { uptime: number | string };
}

export const SYSTEM_PROBES: HealthProbes = {
  currentLoad: () => si.currentLoad(),
  mem: () => si.mem(),
  fsSize: () => si.fsSize(),
  cpuTemperature: () => si.cpuTemperature(),
  time: () => si.time(),
};

export const HEALTH_SAMPLE_MS = 30_000;

export class HealthSampler {
  private last: HealthSample;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly options: {
      readonly version: string;
      /** The data directory: its filesystem is the disk that matters. */
      readonly dataDir: string;
      readonly probes?: HealthProbes;
      readonly everyMs?: number;
    },
  ) {
    this.last = {
      sampledAt: null,
      version: options.version,
      cpuLoadPercent: null,
      memory: null,
      disk: null,
      temperatureC: null,
      uptimeS: null,
      errors: [],
    };
  }

  /** Takes a first sample now and then one every `everyMs` (30 s), in the background. */
  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.options.everyMs ?? HEALTH_SAMPLE_MS);
    this.timer.unref();
  }

  stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    return this.running ?? Promise.resolve();
  }

  latest(): HealthSample {
    return this.last;
  }

  /** One sample; never rejects. Overlapping calls share the one in progress. */
  sample(): Promise<void> {
    this.running ??= this.takeSample().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async takeSample(): Promise<void> {
    const probes = this.options.probes ?? SYSTEM_PROBES;
    const errors: string[] = [];
    const attempt = async <T>(name: string, probe: () => Promise<T> | T): Promise<T | undefined> => {
      try {
        return await probe();
      } catch (err) {
        errors.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
        return undefined;
      }
    };
    const [load, mem, disks, temp, time] = await Promise.all([
      attempt('currentLoad', () => probes.currentLoad()),
      attempt('mem', () => probes.mem()),
      attempt('fsSize', () => probes.fsSize()),
      attempt('cpuTemperature', () => probes.cpuTemperature()),
      attempt('time', () => probes.time()),
    ]);
    this.last = {
      sampledAt: new Date().toISOString(),
      version: this.options.version,
      cpuLoadPercent: finite(load?.currentLoad),
      memory: memoryOf(mem),
      disk: diskOf(disks, this.options.dataDir),
      temperatureC: finite(temp?.main),
      uptimeS: finite(Number(time?.uptime)),
      errors,
    };
  }
}

function finite(value: number | null | undefined): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? round1(value) : null;
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function memoryOf(mem: { total: number; available: number } | undefined): HealthSample['memory'] {
  if (!mem || !(mem.total > 0) || !Number.isFinite(mem.available)) return null;
  return {
    totalBytes: mem.total,
    availableBytes: mem.available,
    usedPercent: round1(((mem.total - mem.available) / mem.total) * 100),
  };
}

/** The filesystem whose mount point is the longest prefix of the data directory. */
function diskOf(
  disks: { mount: string; size: number; used: number; use: number }[] | undefined,
  dataDir: string,
): HealthSample['disk'] {
  if (!Array.isArray(disks) || disks.length === 0) return null;
  let best: (typeof disks)[number] | undefined;
  for (const d of disks) {
    if (typeof d?.mount !== 'string' || !(d.size > 0)) continue;
    const under = dataDir === d.mount || dataDir.startsWith(d.mount.endsWith('/') ? d.mount : `${d.mount}/`);
    if (under && (!best || d.mount.length > best.mount.length)) best = d;
  }
  if (!best) return null;
  return {
    mount: best.mount,
    sizeBytes: best.size,
    usedBytes: best.used,
    usedPercent: round1((best.used / best.size) * 100),
  };
}

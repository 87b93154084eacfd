/**
 * Reads the uplink's connection counters for signs that central no longer accepts this device:
 * the broker refusing it as not authorised, or TLS failing over its certificate, several times in a
 * row. One refusal is not enough: a broker restart or a CA rollover can refuse a device once.
 */

/** Error texts of a refusal: MQTT CONNACK "Not authorized" (3.1.1 code 5, v5 0x87/0x86/0x8A), and
 * the TLS alerts a broker sends for a certificate it does not accept. */
const REFUSAL =
  /not authori[sz]ed|bad user ?name or password|banned|bad certificate|certificate revoked|certificate unknown|unknown ca|certificate (?:has )?expired|unsupported certificate/i;

export function isRefusal(error: string | undefined): boolean {
  return error !== undefined && REFUSAL.test(error);
}

export interface UplinkCounters {
  readonly connects: number;
  readonly connectFailures: number;
  readonly lastError?: string;
}

export interface RefusalVerdict {
  /** Failed connects in a row that looked like refusals. */
  readonly refusals: number;
  /** Failed connects in a row, whatever the reason. */
  readonly failures: number;
}

export class BrokerRefusalWatch {
  private connects = 0;
  private connectFailures = 0;
  private refusals = 0;
  private failures = 0;

  /** Feed the uplink's counters (any interval); returns the streaks so far. */
  observe(stats: UplinkCounters): RefusalVerdict {
    if (stats.connects !== this.connects) {
      this.refusals = 0;
      this.failures = 0;
    }
    const newFailures = Math.max(0, stats.connectFailures - this.connectFailures);
    if (newFailures > 0) {
      this.failures += newFailures;
      if (isRefusal(stats.lastError)) this.refusals += newFailures;
      else this.refusals = 0; // a network failure breaks a run of refusals
    }
    this.connects = stats.connects;
    this.connectFailures = stats.connectFailures;
    return { refusals: this.refusals, failures: this.failures };
  }

  /** A new uplink starts its counters at zero. */
  reset(): void {
    this.connects = 0;
    this.connectFailures = 0;
    this.refusals = 0;
    this.failures = 0;
  }
}

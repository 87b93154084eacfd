/**
 * What a detector reports. Plain JSON data (strings, numbers, arrays, flat records) so that one
 * definition can become the wire schema in `protocol/` and the status page can show it as it is.
 *
 * An alert has one identity (`id`) from the moment it is raised until it closes: the same
 * (detector, source) pair raises at most one alert per cool-down, and later activity updates it
 * (`status: 'update'`) only when its counts grow meaningfully (see `AlertBook` in kit.ts). When the
 * source has been quiet for the cool-down, the alert is closed and reported once more with
 * `status: 'final'`.
 */

export const SEVERITIES = ['low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

/**
 * `targeted`: nothing says this source hits everyone. `background`: central's intelligence marks the
 * source as a mass scanner of the whole internet (Shodan, Censys, botnets): worth counting, not
 * worth waking anyone for.
 */
export type AlertLabel = 'targeted' | 'background';

export type AlertStatus = 'new' | 'update' | 'final';

/** Most targets and ports an alert carries as examples (the counts are separate and not capped by these). */
export const MAX_SAMPLED_TARGETS = 10;
export const MAX_SAMPLED_PORTS = 20;

export interface Alert {
  /** `${detector}:${source}:${firstSeen}`: the same for the raise, every update and the final report. */
  readonly id: string;
  readonly detector: string;
  /** A variant within the detector, e.g. `slow` (vertical-scan), `spray` (brute-force), `reflector` (flood). */
  readonly kind: string;
  readonly status: AlertStatus;
  readonly severity: Severity;
  /**
   * The address the alert is about. For inbound detectors the external source in clear; for
   * outbound ones (worm-fanout, denied-outbound, beaconing) the internal host, usually a pseudonym;
   * for destination-keyed ones (a flood's victim, an exposed service) the destination: `keyRole`.
   */
  readonly source: string;
  readonly keyRole: 'source' | 'destination';
  /** Up to 10 example peers: destinations, or for destination-keyed alerts the senders. */
  readonly targets: readonly string[];
  /** Up to 20 example destination ports. */
  readonly ports: readonly number[];
  /** Example IP protocols (a protocol scan has no ports). */
  readonly protocols: readonly string[];
  /** Raw events the alert stands for (count-weighted: a summary of 40 counts 40). */
  readonly events: number;
  /** Distinct peers / ports seen; exact up to the detector's cap, a lower bound beyond (`distinctCapped`). */
  readonly distinctTargets: number;
  readonly distinctPorts: number;
  readonly distinctCapped: boolean;
  /** ISO-8601 (UTC) times from the events' own timestamps. */
  readonly firstSeen: string;
  readonly lastSeen: string;
  /** What fired: the threshold values crossed, e.g. `{ distinctPorts: 15, windowS: 60 }`. */
  readonly thresholds: Readonly<Record<string, number>>;
  readonly label: AlertLabel;
  /** One plain-English sentence for the member. */
  readonly summary: string;
  /** What to do, in plain English. */
  readonly advice: string;
}

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2 };

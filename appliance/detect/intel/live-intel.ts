/**
 * Central's blocklists in the running agent: the store opens once central's signing key is in the
 * identity directory (at start for an enrolled box, or when enrolment delivers it), every uplink
 * client subscribes to the lists, and detection asks two questions of them: is this address on a
 * list (the `intel-hit` detector), and is it a mass scanner seen at many members (its alerts are
 * labelled background, not targeted).
 */
import type { MqttClient } from 'mqtt';
import type { IntelLookup } from '../intel-lookup.js';
import { type IntelListStatus, IntelStore, type IntelStoreCounters } from './intel-store.js';
import { attachIntel, type IntelLogger, readIntelKey } from './intel-subscription.js';

/** The list whose addresses detection never alerts on: the scheme's own scanners. */
export const SCHEME_SCANNERS_LIST = 'scheme-scanners';

export interface IntelView {
  readonly enabled: boolean;
  /** Why intel is off (no key from central yet, or an unreadable one). */
  readonly reason?: string;
  readonly lists: readonly IntelListStatus[];
  readonly counters?: IntelStoreCounters;
}

export class LiveIntel {
  private store: IntelStore | undefined;
  private reason = 'central has not sent its intel key yet';
  private schemeStore: IntelStore | undefined;
  private schemeApplied = -1;
  private schemeHas: ((address: string) => boolean) | undefined;

  constructor(
    private readonly options: {
      readonly dataDir: string;
      readonly identityDir: string;
      readonly logger: IntelLogger;
    },
  ) {
    this.refresh();
  }

  /** Opens the store once the key is there (call after enrolment or renewal wrote the identity). */
  refresh(): void {
    if (this.store) return;
    const key = readIntelKey(this.options.identityDir);
    if (!key.ok) {
      this.reason = key.reason;
      return;
    }
    this.store = new IntelStore({ dataDir: this.options.dataDir, keys: key.keys, now: Date.now });
    for (const result of this.store.load())
      if (!result.ok)
        this.options.logger.warn(
          { list: result.list, reason: result.reason },
          'a kept intel list was refused',
        );
  }

  /** Subscribes one uplink client (the uplink makes a new client per connection attempt). */
  readonly attach = (client: MqttClient): void => {
    if (this.store) attachIntel(client, this.store, this.options.logger);
  };

  /** For `intel-hit`: listed as a campaign or imported threat (mass scanners are `background`). */
  readonly intel: IntelLookup = (address) => {
    const match = this.store?.lookup(address);
    if (match === undefined || match === 'scanner') return undefined;
    return { list: this.store?.lookupList(address)?.list ?? match };
  };

  /**
   * The scheme's own scanners (central's vulnerability scanner and the like), published as the list
   * `scheme-scanners` (`cyberalarm-central intel import --list scheme-scanners FILE`): detection
   * never alerts on them. Undefined while no such list is held, so detection pays nothing then.
   */
  schemeScanners(): ((address: string) => boolean) | undefined {
    // Asked on every event: looked up again only when the store has applied another list.
    const store = this.store;
    const applied = store?.counters.applied ?? -1;
    if (store !== this.schemeStore || applied !== this.schemeApplied) {
      this.schemeStore = store;
      this.schemeApplied = applied;
      const set = store?.listSet(SCHEME_SCANNERS_LIST);
      this.schemeHas = set && ((address) => set.has(address));
    }
    return this.schemeHas;
  }

  /** Sources central marks as mass scanners seen at many members. */
  readonly background = (address: string): boolean => this.store?.lookup(address) === 'scanner';

  view(): IntelView {
    if (!this.store) return { enabled: false, reason: this.reason, lists: [] };
    return { enabled: true, lists: this.store.status(), counters: this.store.counters };
  }
}

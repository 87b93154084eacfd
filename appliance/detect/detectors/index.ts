/** Every detector, in the order the engine runs them. A new detector is one file here and one line below. */
import type { CommonSettings, Detector } from '../detector.js';
import { beaconing } from './beaconing.js';
import { bruteForce } from './brute-force.js';
import { deniedOutbound } from './denied-outbound.js';
import { exposedService } from './exposed-service.js';
import { flood } from './flood.js';
import { horizontalScan } from './horizontal-scan.js';
import { intelHit } from './intel-hit.js';
import { protocolScan } from './protocol-scan.js';
import { verticalScan } from './vertical-scan.js';
import { wormFanout } from './worm-fanout.js';

// Each detector's settings type is its own; the engine only handles them as data.
export const DETECTORS: readonly Detector<CommonSettings>[] = [
  horizontalScan,
  verticalScan,
  protocolScan,
  bruteForce,
  flood,
  wormFanout,
  deniedOutbound,
  beaconing,
  exposedService,
  intelHit,
] as unknown as readonly Detector<CommonSettings>[];

export const DETECTOR_NAMES: readonly string[] = DETECTORS.map((d) => d.name);

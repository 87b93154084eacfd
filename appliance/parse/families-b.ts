import { barracuda } from './barracuda.js';
import { clavister } from './clavister.js';
import { draytek } from './draytek.js';
import { forcepoint } from './forcepoint.js';
import { juniperSrx } from './juniper-srx.js';
import { meraki } from './meraki.js';
import { sonicwall } from './sonicwall.js';
import { sophos } from './sophos.js';
import { stormshield } from './stormshield.js';
import type { ParserFamily } from './types.js';
import { watchguard } from './watchguard.js';
import { zyxel } from './zyxel.js';

/** Vendor families, group B (the remaining firewall vendors). */
export const FAMILIES_B: readonly ParserFamily[] = [
  sophos,
  sonicwall,
  juniperSrx,
  meraki,
  watchguard,
  barracuda,
  stormshield,
  clavister,
  forcepoint,
  draytek,
  zyxel,
];

/**
 * THE list of parser families, by name, in detection tie-break order (earlier wins a tie). Adding a
 * family is one line here plus `families/<name>.ts` and `families/<name>.jsonl` (see README.md).
 *
 * Names only, no parser imports: the agent's socket thread validates settings against them while
 * the parsers themselves run in worker threads (each parser module set costs every thread that
 * loads it ~10 MB). `registry.ts` loads `families/<name>.js` for each name.
 */
export const FAMILY_NAMES: readonly string[] = [
  'netfilter',
  'pfsense',
  'mikrotik',
  'cisco_asa',
  'cisco_ftd',
  'fortinet_fortigate',
  'panw',
  'checkpoint',
  'cef',
  'leef',
  'sophos_xg',
  'sonicwall_firewall',
  'juniper_srx',
  'cisco_meraki',
  'watchguard_firebox',
  'barracuda_cloudgen',
  'stormshield',
  'clavister',
  'forcepoint_ngfw',
  'draytek',
  'zyxel',
];

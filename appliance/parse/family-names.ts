/**
 * The parser families' names, without loading the parsers: the agent's socket thread validates
 * settings against them while the parsers themselves run in worker threads (each parser module set
 * costs every thread that loads it ~10 MB). `registry.test.ts` checks this list against `FAMILIES`.
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

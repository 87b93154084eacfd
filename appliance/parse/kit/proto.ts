/** Protocol names and numbers, folded to one lower-case IANA keyword. */

const PROTO_BY_NUMBER: Readonly<Record<string, string>> = {
  '1': 'icmp',
  '2': 'igmp',
  '4': 'ipip',
  '6': 'tcp',
  '17': 'udp',
  '41': 'ipv6',
  '47': 'gre',
  '50': 'esp',
  '51': 'ah',
  '58': 'ipv6-icmp',
  '89': 'ospf',
  '103': 'pim',
  '112': 'vrrp',
  '132': 'sctp',
};

const PROTO_ALIASES: Readonly<Record<string, string>> = {
  icmp6: 'ipv6-icmp',
  icmpv6: 'ipv6-icmp',
  'ipv6-icmp': 'ipv6-icmp',
  'icmp-v6': 'ipv6-icmp',
};

/** Lower-case IANA keyword for a protocol given as a name or a number; undefined when empty. */
export function normaliseProto(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  // Nearly every line says one of these: skip the trim, lower-casing and table look-ups.
  switch (value) {
    case '6':
    case 'tcp':
    case 'TCP':
      return 'tcp';
    case '17':
    case 'udp':
    case 'UDP':
      return 'udp';
    case '1':
    case 'icmp':
    case 'ICMP':
      return 'icmp';
  }
  const v = value.trim().toLowerCase();
  if (v === '') return undefined;
  const byNumber = PROTO_BY_NUMBER[v];
  if (byNumber !== undefined) return byNumber;
  const alias = PROTO_ALIASES[v];
  if (alias !== undefined) return alias;
  // "TCP/443"-style or "proto:tcp" values: keep the protocol word only.
  const cut = v.search(/[/:\s]/);
  return cut > 0 ? normaliseProto(v.slice(0, cut)) : v.slice(0, 16);
}

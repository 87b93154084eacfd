/**
 * Cisco Firepower Threat Defense. FTD sends two kinds of lines under `%FTD-<level>-<id>:`: the
 * Firepower `Key: value, ...` events (430001 intrusion, 430002/430003 connection start/end,
 * 430004/430005 file and malware), and the ASA-engine messages with ASA ids and ASA bodies
 * (`%FTD-6-302013: Built inbound TCP connection ...`). Both readings live in `cisco-asa.ts`.
 */

import type { ParseResult, ParserFamily, SyslogMessage } from '../types.js';
import { parseCisco } from './cisco_asa.js';

const NAME = 'cisco_ftd';

export const family: ParserFamily = {
  name: NAME,
  products: ['Cisco Firepower Threat Defense (FTD)', 'Cisco Secure Firewall', 'Cisco Firepower NGIPS'],
  detect(msg: SyslogMessage): number {
    const app = msg.app;
    if (app !== undefined && (app.startsWith('%FTD-') || app.startsWith('%NGIPS-'))) return 0.95;
    return msg.raw.includes('%FTD-') || msg.raw.includes('%NGIPS-') ? 0.9 : 0;
  },
  parse(msg: SyslogMessage): ParseResult {
    return parseCisco(msg, NAME);
  },
};

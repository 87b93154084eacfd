import t from 'tap';
import { ConfigError } from '../../common/config.js';
import { parseFormatOverrides } from './format-overrides.js';
import { FAMILIES } from './registry.js';

const NAMES = FAMILIES.map((f) => f.name);

t.test('pairs separated by commas or spaces, addresses canonicalised', async (t) => {
  const map = parseFormatOverrides(
    '10.0.0.1=fortinet_fortigate, 2001:DB8::1=pfsense ::ffff:192.0.2.7=netfilter,',
    NAMES,
  );
  t.same(
    [...map],
    [
      ['10.0.0.1', 'fortinet_fortigate'],
      ['2001:db8::1', 'pfsense'],
      ['192.0.2.7', 'netfilter'],
    ],
  );
  t.equal(parseFormatOverrides('', NAMES).size, 0, 'empty: no overrides');
});

t.test('an unknown format names the key and lists the valid names', async (t) => {
  const err = t.throws(() => parseFormatOverrides('10.0.0.1=fortinet', NAMES)) as Error;
  t.type(err, ConfigError);
  t.match(err.message, /formatOverrides/);
  t.match(err.message, /--format-overrides/);
  t.match(err.message, /"fortinet"/);
  for (const name of NAMES) t.match(err.message, name);
});

t.test('bad entries are refused with the entry named', async (t) => {
  t.throws(() => parseFormatOverrides('10.0.0.1', NAMES), /formatOverrides.*ADDRESS=FORMAT.*"10\.0\.0\.1"/);
  t.throws(() => parseFormatOverrides('fw.local=pfsense', NAMES), /"fw\.local" is not an IPv4 or IPv6/);
  t.throws(
    () => parseFormatOverrides('10.0.0.1=pfsense,10.0.0.1=netfilter', NAMES),
    /10\.0\.0\.1 is given two formats/,
  );
  t.equal(parseFormatOverrides('10.0.0.1=pfsense 10.0.0.1=pfsense', NAMES).size, 1, 'a repeat is harmless');
});

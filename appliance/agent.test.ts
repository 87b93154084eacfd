import t from 'tap';
import { isUplinkFault } from './agent.js';

t.test(
  'a throw from inside mqtt.js or the uplink is the uplink’s to restart; anything else is not',
  async (t) => {
    const thrown = (frames: string[]) =>
      Object.assign(new TypeError('x'), { stack: ['TypeError: x', ...frames].join('\n') });
    t.ok(
      isUplinkFault(
        thrown([
          '    at /usr/lib/cyberalarm/node_modules/mqtt/build/lib/client.js:898:51',
          '    at Array.forEach (<anonymous>)',
        ]),
      ),
      'mqtt.js (the crash seen: _flush reading cb)',
    );
    t.ok(isUplinkFault(thrown(['    at Uplink.pump (/opt/ca/dist/appliance/uplink/uplink.js:200:7)'])));
    t.notOk(isUplinkFault(thrown(['    at Outbox.append (/opt/ca/dist/appliance/outbox/outbox.js:10:1)'])));
    t.notOk(isUplinkFault(new Error('no stack frames at all')));
  },
);

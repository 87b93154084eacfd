import t from 'tap';
import { describeSystemError, explainTlsError } from './errors.js';

const sysErr = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${code} raw`), { code, ...extra });

t.test('operating-system errors become one line with what to do', async (t) => {
  t.match(
    describeSystemError(sysErr('EADDRINUSE', { syscall: 'listen', address: '0.0.0.0', port: 514 })),
    /0\.0\.0\.0:514: the port is in use/,
  );
  t.match(
    describeSystemError(sysErr('EACCES', { syscall: 'listen', address: '0.0.0.0', port: 514 })),
    /below 1024 need root or CAP_NET_BIND_SERVICE/,
  );
  t.match(
    describeSystemError(sysErr('EACCES', { syscall: 'open', path: '/var/lib/cyberalarm/outbox' })),
    /permission denied: \/var\/lib\/cyberalarm\/outbox/,
  );
  t.match(
    describeSystemError(sysErr('EROFS', { syscall: 'mkdir', path: '/data' })),
    /\/data: the file system is read-only/,
  );
  t.match(describeSystemError(sysErr('ENOSPC', { path: '/data/x' })), /the disk is full/);
  t.equal(describeSystemError(new TypeError('a bug')), undefined, 'a bug keeps its stack');
  t.equal(describeSystemError(sysErr('ECONNRESET')), undefined);
});

t.test('TLS failures towards central name the file or the clock', async (t) => {
  t.match(
    explainTlsError(sysErr('SELF_SIGNED_CERT_IN_CHAIN'), 'centralCaFile'),
    /not signed by the CA this appliance trusts \(centralCaFile\)/,
  );
  t.match(explainTlsError(sysErr('CERT_HAS_EXPIRED'), 'x'), /expired .*clock/);
  t.equal(explainTlsError(sysErr('ECONNREFUSED'), 'x'), undefined);
});

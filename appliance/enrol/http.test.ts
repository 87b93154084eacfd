/**
 * The enrolment client against a real HTTPS server whose certificate is signed by another CA than
 * the one the appliance was given (`centralCaFile`): the operator reads which file is wrong, not
 * only OpenSSL's "self-signed certificate in certificate chain".
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { createCa, issueServerCertificate } from '../../provisioning/ca.js';
import { createEnrolmentApi } from './http.js';

t.test('a central CA file that is not central’s CA is named as the problem', async (t) => {
  const centralCa = await createCa({ commonName: 'Central CA' });
  const otherCa = await createCa({ commonName: 'Some other CA' });
  const server = await issueServerCertificate(centralCa, { hostnames: ['localhost'], ips: ['127.0.0.1'] });
  const https = createServer(
    { cert: `${server.certPem.trim()}\n${centralCa.certPem}`, key: server.keyPem },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    },
  );
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => https.close(() => resolve())));
  const url = `https://127.0.0.1:${(https.address() as AddressInfo).port}`;

  const wrong = await createEnrolmentApi(url, otherCa.certPem).poll('dev-1');
  t.equal(wrong.ok, false);
  if (!wrong.ok) {
    t.match(wrong.error, /not signed by the CA this appliance trusts \(centralCaFile\)/, wrong.error);
  }
  const right = await createEnrolmentApi(url, centralCa.certPem).poll('dev-1');
  t.notMatch(right.ok ? '' : right.error, /not signed by the CA/, 'the right CA gets past TLS');
});

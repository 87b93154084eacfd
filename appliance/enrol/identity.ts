import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserFacingError } from '../../common/errors.js';
import { deviceIdFromCertificate } from '../../provisioning/certificate-identity.js';

export interface DeviceIdentity {
  readonly deviceId: string;
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
}

export class IdentityError extends UserFacingError {
  override readonly name = 'IdentityError';
}

/** Reads `device.crt`, `device.key` and `ca.crt` from the identity directory; the device id is the
 * certificate's subject CN, so the broker and the agent can never disagree about it. */
export function loadIdentity(dir: string): DeviceIdentity {
  const read = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch {
      throw new IdentityError(
        `no device identity: ${join(dir, name)} is missing. Issue one with ` +
          '`cyberalarm-central device issue --id DEVICE_ID --out DIR` and pass --identity-dir DIR.',
      );
    }
  };
  const certPem = read('device.crt');
  const keyPem = read('device.key');
  const caPem = read('ca.crt');
  const deviceId = deviceIdFromCertificate(certPem);
  if (!deviceId)
    throw new IdentityError(`${join(dir, 'device.crt')} has no usable device id in its subject CN`);
  return { deviceId, certPem, keyPem, caPem };
}

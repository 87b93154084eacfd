/**
 * The enrolment client's HTTPS adapter: central's portal, with TLS pinned to the CA certificate the
 * image carries (`ca` = that file only, `rejectUnauthorized`), so a network that can issue itself a
 * publicly trusted certificate still cannot stand in for central. Answers are values, never throws.
 */

import { request } from 'node:https';
import { explainTlsError } from '../../common/errors.js';
import type {
  EnrolmentRequest,
  EnrolmentState,
  EnrolmentStatus,
  RenewalRequest,
} from '../../provisioning/enrolment.js';

export type ApiResult =
  | { readonly ok: true; readonly status: EnrolmentStatus }
  | { readonly ok: false; readonly httpStatus?: number; readonly error: string };

/** What the enrolment state machine needs from central; tests may pass a fake. */
export interface EnrolmentApi {
  register(body: EnrolmentRequest): Promise<ApiResult>;
  poll(deviceId: string): Promise<ApiResult>;
  /** Over mutual TLS with the device's current certificate. */
  renew(body: RenewalRequest, client: { certPem: string; keyPem: string }): Promise<ApiResult>;
}

const STATES: readonly EnrolmentState[] = ['pending', 'approved', 'rejected', 'expired', 'revoked'];
/** A certificate chain, a config and a message fit easily; anything bigger is not central. */
const MAX_RESPONSE_BYTES = 256 * 1024;
const TIMEOUT_MS = 15_000;

export function createEnrolmentApi(baseUrl: string, pinnedCaPem: string): EnrolmentApi {
  const base = baseUrl.replace(/\/+$/, '');
  const call = (
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    client?: { certPem: string; keyPem: string },
  ): Promise<ApiResult> =>
    new Promise((resolve) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const req = request(
        `${base}${path}`,
        {
          method,
          ca: pinnedCaPem,
          rejectUnauthorized: true,
          ...(client && { cert: client.certPem, key: client.keyPem }),
          agent: false, // no pooled socket that was opened with other TLS options
          headers: {
            accept: 'application/json',
            ...(payload && { 'content-type': 'application/json', 'content-length': payload.length }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const httpStatus = res.statusCode ?? 0;
            if (httpStatus < 200 || httpStatus >= 300) {
              resolve({ ok: false, httpStatus, error: `HTTP ${httpStatus}: ${messageOf(text)}` });
              return;
            }
            resolve(parseStatus(text));
          });
          res.on('error', (err) => resolve({ ok: false, error: err.message }));
        },
      );
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
      req.on('error', (err) =>
        resolve({ ok: false, error: explainTlsError(err, 'centralCaFile') ?? err.message }),
      );
      req.end(payload);
    });
  return {
    register: (body) => call('POST', '/api/enrol/requests', body),
    poll: (deviceId) => call('GET', `/api/enrol/requests/${encodeURIComponent(deviceId)}`, undefined),
    renew: (body, client) => call('POST', '/api/enrol/renew', body, client),
  };
}

/** Checks the shape of an EnrolmentStatus; central is trusted (pinned TLS) but may be a newer version. */
export function parseStatus(text: string): ApiResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: 'answer is not JSON' };
  }
  if (typeof value !== 'object' || value === null) return { ok: false, error: 'answer is not an object' };
  const v = value as Record<string, unknown>;
  if (typeof v.deviceId !== 'string') return { ok: false, error: 'answer has no deviceId' };
  if (!STATES.includes(v.state as EnrolmentState)) {
    return { ok: false, error: `answer has an unknown state ${JSON.stringify(v.state)}` };
  }
  const optionalStrings = ['certificatePem', 'caPem', 'brokerUrl', 'intelPublicKeyPem', 'message'] as const;
  for (const key of optionalStrings) {
    if (v[key] !== undefined && typeof v[key] !== 'string') return { ok: false, error: `${key} is not text` };
  }
  if (
    v.config !== undefined &&
    (typeof v.config !== 'object' || v.config === null || Array.isArray(v.config))
  )
    return { ok: false, error: 'config is not an object' };
  const pollAfterS = typeof v.pollAfterS === 'number' && Number.isFinite(v.pollAfterS) ? v.pollAfterS : 0;
  return { ok: true, status: { ...(v as unknown as EnrolmentStatus), pollAfterS } };
}

function messageOf(text: string): string {
  try {
    const v = JSON.parse(text) as { message?: unknown; error?: unknown };
    const m = v.message ?? v.error;
    if (typeof m === 'string') return m.slice(0, 200);
  } catch {
    /* not JSON */
  }
  return text.slice(0, 200);
}

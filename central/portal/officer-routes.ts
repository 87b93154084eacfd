/**
 * The officers' web UI: sign-in (password + TOTP), enrolment (scan → check fingerprint → bind to a
 * member → approve), the force's devices (revoke) and its audit log.
 *
 * Sessions are server-side (central/officers/officers.ts); the cookie is `__Host-` prefixed,
 * HttpOnly, Secure and SameSite=Strict, and every form also carries the session's CSRF token.
 * Each response gets a fresh CSP nonce: the only script that runs is the portal's own.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  type EnrolmentService,
  type Failure,
  HTTP_STATUS,
  type MemberChoice,
} from '../enrolment/enrolment-service.js';
import { type FleetSettings, fleetState } from '../fleet/fleet-state.js';
import {
  DEFAULT_SIGN_IN_POLICY,
  endSession,
  type Officer,
  type SignInPolicy,
  sessionOfficer,
  signIn,
} from '../officers/officers.js';
import { forceAlerts } from '../store/alert-list.js';
import { forceAuditLog } from '../store/audit.js';
import type { Database } from '../store/db.js';
import { fleetDevices } from '../store/fleet-list.js';
import { type FleetEntry, fleetPage } from './fleet-page.js';
import {
  alertsPage,
  auditPage,
  devicesPage,
  enrolledPage,
  enrolPage,
  messagePage,
  type PageContext,
  requestPage,
  signInPage,
} from './pages.js';

export const SESSION_COOKIE = '__Host-cyberalarm_session';

type Form = Record<string, string | undefined>;

function field(body: unknown, name: string): string {
  const value = (body as Form | null)?.[name];
  return typeof value === 'string' ? value : '';
}

function nonce(): string {
  return randomBytes(16).toString('base64');
}

function sendHtml(reply: FastifyReply, nonceValue: string, html: string, status = 200): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header(
      'content-security-policy',
      `default-src 'none'; script-src 'self' 'nonce-${nonceValue}'; style-src 'nonce-${nonceValue}'; ` +
        "img-src 'self' blob: data:; media-src 'self' blob: mediastream:; connect-src 'self'; " +
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store')
    .send(html);
}

export function registerOfficerRoutes(
  app: FastifyInstance,
  deps: {
    db: Database;
    service: EnrolmentService;
    policy?: SignInPolicy;
    isConnected?: (deviceId: string) => boolean;
    /** Fleet state settings (`silentAfterH`); default 6 hours. */
    fleet?: FleetSettings;
  },
): void {
  const { db, service } = deps;
  const policy = deps.policy ?? DEFAULT_SIGN_IN_POLICY;
  const fleetSettings: FleetSettings = deps.fleet ?? { silentAfterH: 6 };
  const pub = { config: { access: 'public' as const } };
  const jsqr = readFileSync(createRequire(import.meta.url).resolve('jsqr'), 'utf8');

  type Authed = { officer: Officer; csrf: string; ctx: PageContext };
  /** The signed-in officer, or a reply already sent (redirect to sign-in, or 403 on a bad CSRF token). */
  async function authed(req: FastifyRequest, reply: FastifyReply): Promise<Authed | undefined> {
    const session = await sessionOfficer(db, req.cookies[SESSION_COOKIE]);
    const n = nonce();
    if (!session) {
      if (req.method === 'GET') await reply.redirect('/portal/sign-in', 303);
      else await sendHtml(reply, n, signInPage({ nonce: n }, 'Your session has ended: sign in again.'), 401);
      return undefined;
    }
    if (req.method !== 'GET' && field(req.body, 'csrf') !== session.csrfToken) {
      await sendHtml(
        reply,
        n,
        messagePage({ nonce: n }, 'Refused', 'Form expired: reload the page.', true),
        403,
      );
      return undefined;
    }
    return {
      officer: session.officer,
      csrf: session.csrfToken,
      ctx: { nonce: n, officer: session.officer, csrf: session.csrfToken },
    };
  }

  const failurePage = (reply: FastifyReply, a: Authed, title: string, failure: Failure) =>
    sendHtml(reply, a.ctx.nonce, messagePage(a.ctx, title, failure.message, true), HTTP_STATUS[failure.code]);

  app.get('/', pub, async (_req, reply) => reply.redirect('/portal/enrol', 303));
  app.get('/portal', pub, async (_req, reply) => reply.redirect('/portal/enrol', 303));

  app.get('/portal/assets/jsQR.js', pub, async (_req, reply) =>
    reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'public, max-age=86400')
      .header('x-content-type-options', 'nosniff')
      .send(jsqr),
  );

  app.get('/portal/sign-in', pub, async (_req, reply) => {
    const n = nonce();
    return sendHtml(reply, n, signInPage({ nonce: n }));
  });

  app.post('/portal/sign-in', pub, async (req, reply) => {
    const username = field(req.body, 'username').trim();
    const result = await signIn(
      db,
      { username, password: field(req.body, 'password'), totp: field(req.body, 'totp').trim(), ip: req.ip },
      policy,
    );
    const n = nonce();
    if (!result.ok) {
      const [status, message] =
        result.reason === 'rate_limited'
          ? [
              429,
              `Too many failed sign-ins for this account from this address: wait ${Math.ceil(result.retryAfterMs / 1000)} seconds, or sign in with your password and a current code.`,
            ]
          : [401, 'Wrong username, password or code.'];
      return sendHtml(reply, n, signInPage({ nonce: n }, message, username), status);
    }
    reply.setCookie(SESSION_COOKIE, result.session.id, {
      path: '/',
      httpOnly: true,
      secure: true,
      sameSite: 'strict',
      expires: result.session.expiresAt,
    });
    return reply.redirect('/portal/enrol', 303);
  });

  app.post('/portal/sign-out', pub, async (req, reply) => {
    const a = await authed(req, reply);
    if (!a) return reply;
    const id = req.cookies[SESSION_COOKIE];
    if (id) await endSession(db, id);
    reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, secure: true, sameSite: 'strict' });
    return reply.redirect('/portal/sign-in', 303);
  });

  app.get('/portal/enrol', pub, async (req, reply) => {
    const a = await authed(req, reply);
    if (!a) return reply;
    return sendHtml(reply, a.ctx.nonce, enrolPage(a.ctx));
  });

  app.post('/portal/enrol/lookup', pub, async (req, reply) => {
    const a = await authed(req, reply);
    if (!a) return reply;
    const qr = field(req.body, 'qr');
    const pairingCode = field(req.body, 'pairingCode');
    const result = await service.lookup(a.officer, qr ? { qr } : { pairingCode }, req.ip);
    if (!result.ok) {
      return sendHtml(reply, a.ctx.nonce, enrolPage(a.ctx, result.message), HTTP_STATUS[result.code]);
    }
    const members = await service.membersOfForce(a.officer.forceId);
    return sendHtml(reply, a.ctx.nonce, requestPage(a.ctx, result.request, members));
  });

  app.post('/portal/enrol/approve', pub, async (req, reply) => {
    const a = await authed(req, reply);
    if (!a) return reply;
    const memberId = field(req.body, 'memberId');
    const member: MemberChoice = memberId
      ? { memberId }
      : {
          name: field(req.body, 'memberName'),
          sector: field(req.body, 'sector'),
          contact: field(req.body, 'contact'),
        };
    const deviceId = field(req.body, 'deviceId');
    const result = await service.approve(
      a.officer,
      { deviceId, pairingCode: field(req.body, 'pairingCode'), member },
      req.ip,
    );
    if (!result.ok) return failurePage(reply, a, 'Not enrolled', result);
    const members = await service.membersOfForce(a.officer.forceId);
    const name = members.find((m) => m.memberId === result.memberId)?.name ?? result.memberId;
    return sendHtml(reply, a.ctx.nonce, enrolledPage(a.ctx, result.deviceId, name, result.notAfter));
  });

  app.post('/portal/enrol/reject', pub, async (req, reply) => {
    const a = await authed(req, reply);
    if (!a) return reply;
    const result = await service.reject(
      a.officer,
      { deviceId: field(req.body, 'deviceId'), pairingCode: field(req.body, 'pairingCode') },
      req.ip,
    );
    if (!result.ok) return failurePage(reply, a, 'Not rejected', result);
    return sendHtml(
      reply,
      a.ctx.nonce,
      messagePage(a.ctx, 'Rejected', `Request from ${result.deviceId} rejected.`),
    );
  });

  app.get('/portal/devices', pub, async (req, reply) => {
    const a = await authed(req, reply);
    if (!a) return reply;
    return sendHtml(
      reply,
      a.ctx.nonce,
      devicesPage(a.ctx, await service.devicesOfForce(a.officer.forceId), deps.isConnected),
    );
  });

  app.post<{ Params: { id: string } }>('/portal/devices/:id/revoke', pub, async (req, reply) => {
    const a = await authed(req, reply);
    if (!a) return reply;
    const result = await service.revoke({ officer: a.officer }, req.params.id, req.ip);
    if (!result.ok) return failurePage(reply, a, 'Not revoked', result);
    return sendHtml(
      reply,
      a.ctx.nonce,
      messagePage(a.ctx, 'Revoked', `Device ${result.deviceId} is revoked and disconnected.`),
    );
  });

  /**
   * Recent alerts of the officer's force (`?member=` narrows to one member of it; a member of
   * another force simply matches nothing). `/portal/alerts.json` is the same list as JSON for
   * scripts run with the officer's session: GET only, so no CSRF token is involved.
   */
  const alertsOf = async (a: Authed, query: unknown) => {
    const member = (query as Form | null)?.member;
    const memberId = typeof member === 'string' && member !== '' ? member.slice(0, 200) : undefined;
    const alerts = await forceAlerts(db, a.officer.forceId, memberId ? { memberId } : {});
    return { alerts, memberId };
  };

  app.get('/portal/alerts', pub, async (req, reply) => {
    const a = await authed(req, reply);
    if (!a) return reply;
    const { alerts, memberId } = await alertsOf(a, req.query);
    const members = await service.membersOfForce(a.officer.forceId);
    return sendHtml(reply, a.ctx.nonce, alertsPage(a.ctx, alerts, members, memberId));
  });

  app.get('/portal/alerts.json', pub, async (req, reply) => {
    const session = await sessionOfficer(db, req.cookies[SESSION_COOKIE]);
    if (!session) return reply.code(401).send({ error: 'sign in first', code: 'unauthorised' });
    const a: Authed = { officer: session.officer, csrf: session.csrfToken, ctx: { nonce: '' } };
    const { alerts } = await alertsOf(a, req.query);
    return reply
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send({ force: session.officer.forceId, alerts });
  });

  /**
   * The force's enrolled appliances with their fleet state (central/fleet/fleet-state.ts), scoped
   * exactly as the devices page. `/portal/fleet.json` is the same list for the signed-in officer's
   * scripts (GET only, no CSRF token); it carries no member contact and no heartbeat detail beyond
   * what the page shows.
   */
  const fleetOf = async (forceId: string): Promise<FleetEntry[]> => {
    const now = new Date();
    return (await fleetDevices(db, { forceId })).map((d) => {
      const last = d.heartbeats[0];
      return {
        deviceId: d.deviceId,
        memberId: d.memberId,
        memberName: d.memberName,
        lastData: d.lastData,
        detection: last?.detection ?? null,
        sources: last?.sourceCount ?? null,
        ...fleetState(d, fleetSettings, now),
      };
    });
  };

  app.get('/portal/fleet', pub, async (req, reply) => {
    const a = await authed(req, reply);
    if (!a) return reply;
    const entries = await fleetOf(a.officer.forceId);
    return sendHtml(reply, a.ctx.nonce, fleetPage(a.ctx, entries, fleetSettings.silentAfterH));
  });

  app.get('/portal/fleet.json', pub, async (req, reply) => {
    const session = await sessionOfficer(db, req.cookies[SESSION_COOKIE]);
    if (!session) return reply.code(401).send({ error: 'sign in first', code: 'unauthorised' });
    return reply
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send({
        force: session.officer.forceId,
        silentAfterH: fleetSettings.silentAfterH,
        devices: await fleetOf(session.officer.forceId),
      });
  });

  app.get('/portal/audit', pub, async (req, reply) => {
    const a = await authed(req, reply);
    if (!a) return reply;
    return sendHtml(reply, a.ctx.nonce, auditPage(a.ctx, await forceAuditLog(db, a.officer.forceId)));
  });
}

/**
 * The status page and its JSON API on the LAN.
 *
 * Access: the enrolment state, the QR code and basic health are public (the officer must see them);
 * everything else needs the admin password (set on first visit), except for requests from the box
 * itself (127.0.0.1 / ::1), which may read everything: the tests, the demo and local tools use
 * `/api/status` and `/metrics` that way, and anything running on the box can read its data
 * directory anyway. Changes always need a session. CSRF: the session cookie is SameSite=Strict and
 * every POST must carry this page's own Origin (or Referer).
 */
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { writeFileAtomic } from '../../common/atomic-file.js';
import { describeSystemError } from '../../common/errors.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { renderPrometheus } from '../../common/metrics.js';
import type { MemberSettings } from '../settings/member-settings.js';
import { AdminAuth, isLoopback, SESSION_TTL_MS } from './admin.js';
import { hostWithoutPort, ownHostNames } from './own-host.js';
import { type PageAccess, renderStatusPage } from './page.js';
import { RATE_SNAPSHOT_MS, SourceRates } from './rates.js';
import { type FormBody, readPrivacyForm, readSourceForm, type SettingsFormState } from './settings-form.js';
import {
  consoleNotice,
  ensureSetupCode,
  formatSetupCode,
  removeSetupCode,
  SETUP_CODE_FILE,
  setupCodeMatches,
} from './setup-code.js';
import { type AgentStatus, publicStatus, statusMetrics } from './status.js';

export interface StatusServer {
  readonly port: number;
  close(): Promise<void>;
}

export const SESSION_COOKIE = 'cyberalarm_session';

const SECURITY_HEADERS = {
  // No script at all; inline styles only; forms post back here only; never framed.
  'content-security-policy':
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
} as const;

/** True when a POST comes from a page this server served (Origin, or Referer when Origin is absent). */
export function isSameOrigin(headers: FastifyRequest['headers']): boolean {
  const host = headers.host;
  if (!host) return false;
  const origin = headers.origin;
  if (typeof origin === 'string') return origin === `http://${host}` || origin === `https://${host}`;
  const referer = headers.referer;
  if (typeof referer !== 'string') return false;
  try {
    return new URL(referer).host === host;
  } catch {
    return false;
  }
}

export interface StatusAppOptions {
  readonly getStatus: () => AgentStatus;
  /** `<dataDir>`: where admin.json lives. */
  readonly dataDir: string;
  /** The member's privacy choices and pinned formats; absent: the page has no settings forms. */
  readonly settings?: MemberSettings;
  /** Sign-in decisions (and the setup code) are logged here; default: a pino logger on stderr. */
  readonly logger?: Pick<Logger, 'info' | 'warn'>;
  /** Names the page may be reached by besides the box's hostname, addresses and localhost. */
  readonly allowedHosts?: readonly string[];
  /** Clock for sign-in throttling (tests). */
  readonly now?: () => number;
  /**
   * A file getty shows on the box's console (`consoleIssueFile`): the page's address and, until the
   * admin password is set, the setup code. Empty or absent: none.
   */
  readonly consoleIssueFile?: string;
  /** The port the page is reached on, for the console notice. */
  readonly publicPort?: number;
}

/** Outcomes a redirect may name in `?saved=` (fixed texts: nothing from the query is echoed). */
const SAVED_NOTICES: Readonly<Record<string, string>> = {
  privacy: 'Privacy choices saved. They apply from the next connection logged.',
  sources: 'Source format saved. It applies from that source’s next message.',
  unchanged: 'Nothing changed: those were already the settings.',
};

export async function startStatusServer(
  options: StatusAppOptions & { readonly host: string; readonly port: number },
): Promise<StatusServer> {
  const { app, close } = await buildStatusApp(options);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close,
  };
}

/** The routes without a listening socket (tests drive it with `app.inject`). */
export async function buildStatusApp(
  options: StatusAppOptions,
): Promise<{ app: FastifyInstance; close: () => Promise<void> }> {
  const logger = options.logger ?? createLogger('status', 'info');
  const auth = new AdminAuth(options.dataDir, options.now, (event) =>
    (event.event === 'signin.succeeded' ? logger.info : logger.warn).call(logger, event, 'admin sign-in'),
  );
  // Until the admin password is set, setting it needs the code shown at the box (setup-code.ts).
  let setupCode = auth.isSet() ? undefined : ensureSetupCode(options.dataDir);
  if (setupCode) {
    logger.warn(
      { setupCode: formatSetupCode(setupCode), file: `${options.dataDir}/${SETUP_CODE_FILE}` },
      'first-time setup: the status page asks for this setup code before it sets the admin password',
    );
  }
  const showOnConsole = () => {
    if (!options.consoleIssueFile) return;
    try {
      writeFileAtomic(options.consoleIssueFile, consoleNotice(options.publicPort ?? 0, setupCode), 0o600);
    } catch (err) {
      logger.warn(
        { file: options.consoleIssueFile, error: describeSystemError(err) ?? String(err) },
        'could not write the console notice (the setup code is still in this log)',
      );
    }
  };
  showOnConsole();
  const rates = new SourceRates();
  const snapshot = () =>
    rates.record(
      Date.now(),
      options.getStatus().sources.map((s) => [s.source, s.messages] as const),
    );
  snapshot();
  const rateTimer = setInterval(snapshot, RATE_SNAPSHOT_MS);
  rateTimer.unref();
  let qrCache: { text: string; svg: string } | undefined;
  const qrSvg = async (text: string | undefined): Promise<string | undefined> => {
    if (!text) return undefined;
    if (qrCache?.text !== text) {
      // Loaded on first use: an enrolled box shows no QR code, and qrcode is ~1 MB of heap.
      const { default: QRCode } = await import('qrcode');
      const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 4 });
      qrCache = { text, svg };
    }
    return qrCache.svg;
  };

  // forceCloseConnections: a browser's keep-alive connection must not hold shutdown for minutes.
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024, forceCloseConnections: true });
  await app.register(cookie);
  await app.register(formbody);
  app.addHook('onSend', async (_req, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  const access = (req: FastifyRequest): PageAccess =>
    auth.isValidSession(req.cookies[SESSION_COOKIE]) ? 'admin' : isLoopback(req.ip) ? 'local' : 'public';

  const page = async (
    req: FastifyRequest,
    reply: FastifyReply,
    notice?: string,
    code = 200,
    settingsForm?: SettingsFormState,
  ) => {
    const status = options.getStatus();
    const level = access(req);
    const settings = level === 'public' ? undefined : options.settings?.view();
    const hostHeader = req.headers.host ?? '';
    const ingest = status.ingest;
    return reply
      .code(code)
      .type('text/html; charset=utf-8')
      .send(
        renderStatusPage({
          publicStatus: publicStatus(status),
          ...(level !== 'public' && { full: status }),
          access: level,
          adminPasswordSet: auth.isSet(),
          ...(level === 'local' && setupCode && { setupCode: formatSetupCode(setupCode) }),
          qrSvg: await qrSvg(status.enrolment.qr),
          target: {
            host: hostHeader.replace(/:\d+$/, '').replace(/^\[|\]$/g, ''),
            udpPort: ingest.udp.port,
            tcpPort: ingest.tcp.port,
            ...(ingest.tls && { tlsPort: ingest.tls.port }),
          },
          perMinute: (source, messages) => rates.perMinute(source, Date.now(), messages),
          ...(notice && { notice }),
          ...(settings && { settings }),
          ...(settingsForm && { settingsForm }),
        }),
      );
  };

  const startSession = (reply: FastifyReply, token: string) =>
    reply.setCookie(SESSION_COOKIE, token, {
      httpOnly: true,
      sameSite: 'strict',
      path: '/',
      maxAge: SESSION_TTL_MS / 1000,
    });

  /** Refuses cross-site and DNS-rebinding POSTs before anything is read from the body. */
  const checkOrigin = async (req: FastifyRequest, reply: FastifyReply) => {
    const host = req.headers.host;
    if (!host || !ownHostNames(options.allowedHosts).has(hostWithoutPort(host))) {
      logger.warn(
        { host, client: req.ip, url: req.url },
        'POST refused: Host is not one of this box’s names',
      );
      await reply
        .code(403)
        .type('text/plain')
        .send('request refused: the Host is not one of this appliance’s names or addresses');
      return;
    }
    if (!isSameOrigin(req.headers)) {
      await reply.code(403).type('text/plain').send('cross-site request refused (Origin does not match)');
    }
  };

  app.get<{ Querystring: { saved?: string } }>('/', (req, reply) => {
    const saved = req.query.saved;
    return page(req, reply, typeof saved === 'string' ? SAVED_NOTICES[saved] : undefined);
  });

  /** Changes need a session, whoever asks (the box itself included); runs after checkOrigin. */
  const requireAdmin = async (req: FastifyRequest, reply: FastifyReply) => {
    if (reply.sent) return;
    if (!auth.isValidSession(req.cookies[SESSION_COOKIE])) {
      await page(req, reply, 'Sign in with the admin password to change settings.', 401);
    }
  };

  const settings = options.settings;
  if (settings) {
    const afterApply = (
      req: FastifyRequest,
      reply: FastifyReply,
      form: SettingsFormState['form'],
      result: ReturnType<MemberSettings['apply']>,
      submitted: Record<string, string>,
    ) => {
      if (!result.ok) {
        return page(req, reply, 'Not saved: nothing was changed.', 400, {
          form,
          error: result.reason,
          ...(result.key && { key: result.key }),
          submitted,
        });
      }
      if (result.auditError) {
        return page(
          req,
          reply,
          `Saved and in force, but the audit record could not be written: ${result.auditError}`,
          500,
        );
      }
      const anchor = form === 'privacy' ? 'privacy' : 'source-formats';
      return reply.redirect(`/?saved=${result.changes.length === 0 ? 'unchanged' : form}#${anchor}`, 303);
    };

    app.post<{ Body: FormBody }>(
      '/settings/privacy',
      { preHandler: [checkOrigin, requireAdmin] },
      async (req, reply) => {
        const form = readPrivacyForm(req.body);
        if (!form.ok) {
          return page(req, reply, 'Not saved: nothing was changed.', 400, {
            form: 'privacy',
            error: form.reason,
            key: form.key,
            submitted: form.submitted,
          });
        }
        return afterApply(
          req,
          reply,
          'privacy',
          settings.apply('privacy', form.changes, req.ip),
          form.submitted,
        );
      },
    );

    app.post<{ Body: FormBody }>(
      '/settings/sources',
      { preHandler: [checkOrigin, requireAdmin] },
      async (req, reply) => {
        const form = readSourceForm(req.body);
        if (!form.ok) {
          return page(req, reply, 'Not saved: nothing was changed.', 400, {
            form: 'sources',
            error: form.reason,
            submitted: form.submitted,
          });
        }
        return afterApply(
          req,
          reply,
          'sources',
          settings.setSourceFormat(form.source, form.format, req.ip),
          form.submitted,
        );
      },
    );
  }

  app.post<{ Body: { password?: string; confirm?: string; setupCode?: string } }>(
    '/setup',
    { preHandler: checkOrigin },
    async (req, reply) => {
      if (!setupCode) return page(req, reply, 'Password not set: the admin password is already set.', 400);
      if (!setupCodeMatches(setupCode, String(req.body?.setupCode ?? ''))) {
        logger.warn({ client: req.ip }, 'first-time setup refused: wrong setup code');
        return page(
          req,
          reply,
          'Password not set: wrong setup code. It is on the appliance’s screen and in its first log lines.',
          403,
        );
      }
      const password = String(req.body?.password ?? '');
      if (password !== String(req.body?.confirm ?? ''))
        return page(req, reply, 'The two passwords differ.', 400);
      const result = await auth.setInitialPassword(password);
      if (!result.ok) return page(req, reply, `Password not set: ${result.reason}.`, 400);
      setupCode = undefined;
      removeSetupCode(options.dataDir);
      showOnConsole();
      logger.info({ client: req.ip }, 'admin password set');
      startSession(reply, result.token);
      return reply.redirect('/', 303);
    },
  );

  app.post<{ Body: { password?: string } }>('/login', { preHandler: checkOrigin }, async (req, reply) => {
    const result = await auth.signIn(String(req.body?.password ?? ''), req.ip);
    if (result.ok) {
      startSession(reply, result.token);
      return reply.redirect('/', 303);
    }
    if (result.reason === 'throttled') {
      const seconds = Math.ceil(result.retryAfterMs / 1000);
      reply.header('retry-after', String(seconds));
      return page(
        req,
        reply,
        `Too many wrong passwords from this address: try again in ${seconds} seconds, or sign in on the box itself.`,
        429,
      );
    }
    if (result.reason === 'unset') return page(req, reply, 'Set the admin password first.', 400);
    return page(req, reply, 'Wrong password.', 401);
  });

  app.post('/logout', { preHandler: checkOrigin }, async (req, reply) => {
    auth.signOut(req.cookies[SESSION_COOKIE]);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.redirect('/', 303);
  });

  app.get('/api/status', async (req) => {
    const status = options.getStatus();
    return access(req) === 'public' ? publicStatus(status) : status;
  });
  app.get('/api/settings', async (req, reply) => {
    if (access(req) === 'public') return reply.code(401).send({ error: 'sign in to read the settings' });
    if (!settings) return reply.code(404).send({ error: 'no member settings on this server' });
    return settings.view();
  });
  app.get('/api/enrolment', async () => options.getStatus().enrolment);
  app.get('/api/health', async () => publicStatus(options.getStatus()).health);
  app.get('/api/enrolment/qr.svg', async (_req, reply) => {
    const svg = await qrSvg(options.getStatus().enrolment.qr);
    if (!svg) return reply.code(404).type('text/plain').send('not pending: no enrolment code');
    return reply.type('image/svg+xml').send(svg);
  });
  app.get('/metrics', async (req, reply) => {
    if (access(req) === 'public')
      return reply.code(401).type('text/plain').send('sign in, or scrape from the appliance itself');
    return reply.type('text/plain; version=0.0.4').send(renderPrometheus(statusMetrics(options.getStatus())));
  });

  return {
    app,
    close: async () => {
      clearInterval(rateTimer);
      await app.close();
    },
  };
}

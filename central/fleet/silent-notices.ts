/**
 * Telling a member that their appliance has gone silent, once per silence, with what to check.
 *
 * `silentNoticeMessage` is the text (pure). `sendSilentNotices` is the job's one run: every enrolled
 * device's fleet state (fleet-state.ts), and for each silent one whose member has an e-mail address
 * and has not been told about this silence yet, one message through `send`. The caller passes
 * `send` (central.ts: `smtpNoticeSender`, notice-mail.ts, when `smtpUrl` is set; a test's
 * recorder), so this module never learns how mail leaves. `startSilentNoticeJob` runs it on a timer.
 *
 * Once per silence: a silence is named by its last contact (`lastContact`). Before sending, the run
 * claims it in `devices.silent_notice_for` with a conditional UPDATE, so two central processes never
 * both send; a failed send gives the claim back, and the next run tries again.
 */
import type { Logger } from '../../common/logger.js';
import { EMAIL_PATTERN } from '../report/report-archive.js';
import type { Database } from '../store/db.js';
import { type FleetDeviceRow, fleetDevices } from '../store/fleet-list.js';
import { duration, type FleetSettings, fleetState, MIN_DISK_FREE_FRACTION } from './fleet-state.js';

export interface SilentNotice {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly deviceId: string;
  readonly memberId: string;
}

/** Delivers one notice; rejects when it could not (the notice is tried again at the next run). */
export type SendNotice = (message: SilentNotice) => Promise<void>;

/**
 * Where a member's notice goes: the address their reports go to (`members.email`), else the contact
 * the officer typed at enrolment when that is an e-mail address (it may be a phone number).
 */
export function noticeAddress(member: { email: string | null; contact: string | null }): string | null {
  for (const candidate of [member.email, member.contact]) {
    const address = candidate?.trim();
    if (address && address.length <= 254 && EMAIL_PATTERN.test(address)) return address;
  }
  return null;
}

const utc = (d: Date): string => `${d.toISOString().replace('T', ' ').slice(0, 16)} UTC`;

/** The message a member gets when their appliance goes silent. Plain text: it goes by e-mail. */
export function silentNoticeMessage(input: {
  readonly to: string;
  readonly memberId: string;
  readonly memberName: string;
  readonly deviceId: string;
  readonly lastContact: Date | null;
  readonly now: Date;
  /** From the last heartbeat, when there was one: the disk may explain the silence. */
  readonly lastDiskFreeFraction?: number | null;
  /** The broker port appliances connect out to (the firewall rule to check). */
  readonly brokerPort?: number;
}): SilentNotice {
  const port = input.brokerPort ?? 8883;
  const since =
    input.lastContact === null
      ? 'since it was enrolled'
      : `for ${duration(input.now.getTime() - input.lastContact.getTime())} (last contact ${utc(input.lastContact)})`;
  const disk =
    input.lastDiskFreeFraction != null && input.lastDiskFreeFraction < MIN_DISK_FREE_FRACTION
      ? `\nIts last report said its disk was nearly full (${Math.round(input.lastDiskFreeFraction * 1000) / 10} % free): a full disk can stop it working. Your IT support can clear old files from it.\n`
      : '';
  const text = `Hello ${input.memberName},

Your CyberAlarm appliance ${input.deviceId} has not been in touch with the police CyberAlarm service ${since}. While it is silent, your firewall logs are not being checked for attacks.

Please check, in this order:
1. Power: the appliance's lights are on. If not, check the plug and the power supply, then switch it on again.
2. Network cable: it is plugged in firmly at both ends, and the port on your switch or router shows a light.
3. Internet: other computers at the same site can reach the internet.
4. Firewall changes: if your firewall or router was changed recently, it must still let the appliance connect out to the CyberAlarm service (outbound TCP port ${port}).
5. The appliance's own page: from a computer on your network, open the address shown on the appliance's screen or label (http://<appliance address>:8080). It says what is wrong (not enrolled, cannot reach the service, disk full).
${disk}
You do not need to reset anything: the appliance keeps what it collected while cut off and sends it when it is back, up to its storage limit.

If it does not come back within a day, contact your police force's CyberAlarm team and quote the appliance name ${input.deviceId}.

This message is sent once per outage; you will not get another until the appliance has been back and goes silent again.

CyberAlarm`;
  return {
    to: input.to,
    subject: `CyberAlarm: your appliance ${input.deviceId} has gone silent`,
    text,
    deviceId: input.deviceId,
    memberId: input.memberId,
  };
}

export interface SilentNoticeRun {
  readonly silent: number;
  readonly sent: number;
  /** Silent, but the member has no e-mail address (a phone number, or nothing). */
  readonly noEmail: number;
  /** Already told about this silence. */
  readonly alreadyNotified: number;
  readonly failed: number;
}

/** One run over every enrolled device (all forces). Never throws for a failed send. */
export async function sendSilentNotices(
  db: Database,
  options: {
    readonly settings: FleetSettings;
    readonly send: SendNotice;
    readonly now?: Date;
    readonly brokerPort?: number;
    readonly logger?: Logger;
  },
): Promise<SilentNoticeRun> {
  const now = options.now ?? new Date();
  const run = { silent: 0, sent: 0, noEmail: 0, alreadyNotified: 0, failed: 0 };
  for (const device of await fleetDevices(db)) {
    const verdict = fleetState(device, options.settings, now);
    if (verdict.state !== 'silent') continue;
    run.silent++;
    // A device never heard from is named by its enrolment: one notice for that silence too.
    const episode = verdict.lastContact ?? device.approvedAt ?? new Date(0);
    if (device.silentNoticeFor !== null && device.silentNoticeFor >= episode) {
      run.alreadyNotified++;
      continue;
    }
    const to = noticeAddress(device);
    if (to === null) {
      run.noEmail++;
      continue;
    }
    if (!(await claim(db, device, episode, now))) {
      run.alreadyNotified++;
      continue;
    }
    const message = silentNoticeMessage({
      to,
      memberId: device.memberId,
      memberName: device.memberName,
      deviceId: device.deviceId,
      lastContact: verdict.lastContact,
      now,
      lastDiskFreeFraction: diskFree(device),
      ...(options.brokerPort !== undefined && { brokerPort: options.brokerPort }),
    });
    try {
      await options.send(message);
      run.sent++;
      options.logger?.info(
        { deviceId: device.deviceId, memberId: device.memberId },
        'silent-appliance notice sent',
      );
    } catch (err) {
      run.failed++;
      await db.query('UPDATE devices SET silent_notice_for = $2 WHERE device_id = $1', [
        device.deviceId,
        device.silentNoticeFor,
      ]);
      options.logger?.warn(
        { err, deviceId: device.deviceId },
        'silent-appliance notice not sent; retried at the next run',
      );
    }
  }
  return run;
}

function diskFree(device: FleetDeviceRow): number | null {
  const last = device.heartbeats[0];
  if (!last || last.diskTotalBytes === null || last.diskFreeBytes === null || last.diskTotalBytes <= 0)
    return null;
  return last.diskFreeBytes / last.diskTotalBytes;
}

/** Marks this silence as notified unless another run already did; true when this run may send. */
async function claim(db: Database, device: FleetDeviceRow, episode: Date, now: Date): Promise<boolean> {
  const rows = await db.query<{ claimed: number }>(
    `INSERT INTO devices (device_id, first_seen, last_seen, silent_notice_for) VALUES ($1, $3, $3, $2)
     ON CONFLICT (device_id) DO UPDATE SET silent_notice_for = excluded.silent_notice_for
       WHERE devices.silent_notice_for IS NULL OR devices.silent_notice_for < excluded.silent_notice_for
     RETURNING 1 AS claimed`,
    [device.deviceId, episode, device.approvedAt ?? now],
  );
  return rows.length > 0;
}

/** How often the job looks for silent appliances: silence is counted in hours, a quarter is plenty. */
export const SILENT_CHECK_INTERVAL_MS = 15 * 60_000;

export interface SilentNoticeJob {
  stop(): Promise<void>;
}

/**
 * Runs `sendSilentNotices` every `intervalMs` (first run after one interval, so a restart after an
 * outage of central itself does not find every device silent before they reconnect).
 */
export function startSilentNoticeJob(
  db: Database,
  options: {
    readonly intervalMs: number;
    readonly settings: FleetSettings;
    readonly send: SendNotice;
    readonly brokerPort?: number;
  },
  logger: Logger,
): SilentNoticeJob {
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    running = running.then(async () => {
      try {
        const run = await sendSilentNotices(db, { ...options, logger });
        if (run.silent > 0) logger.info(run, 'silent appliances checked');
      } catch (err) {
        logger.error({ err }, 'silent-appliance check failed; retrying at the next interval');
      }
    });
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

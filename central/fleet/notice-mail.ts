/**
 * The silent-appliance notice by e-mail, through the same SMTP settings as the member reports
 * (`smtpUrl`, `smtpFrom`; central/report/email.ts). Plain text only: the notice is a few lines a
 * member reads on a phone. The SMTP URL may hold a password and is never logged.
 */
import nodemailer from 'nodemailer';
import type { SmtpSettings } from '../report/email.js';
import type { SendNotice } from './silent-notices.js';

export function smtpNoticeSender(settings: SmtpSettings): SendNotice {
  return async (message) => {
    const transport = nodemailer.createTransport(settings.smtpUrl);
    try {
      await transport.sendMail({
        from: settings.smtpFrom,
        to: message.to,
        subject: message.subject,
        text: message.text,
      });
    } finally {
      transport.close();
    }
  };
}

/**
 * Sends a member report by e-mail through the operator's SMTP server (nodemailer): the report's HTML
 * as the body, a short plain-text part, and the PDF attached when one could be made.
 * `smtpUrl` is e.g. `smtps://user:pass@mail.example:465` or `smtp://relay.internal:25`; it is never
 * logged (it may hold a password).
 */
import nodemailer from 'nodemailer';

export interface SmtpSettings {
  readonly smtpUrl: string;
  readonly smtpFrom: string;
}

export interface ReportMail {
  readonly to: string;
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  readonly pdf?: Uint8Array;
  readonly pdfName: string;
}

export interface SentMail {
  readonly messageId: string;
  readonly accepted: readonly string[];
}

export async function sendReportMail(settings: SmtpSettings, mail: ReportMail): Promise<SentMail> {
  const transport = nodemailer.createTransport(settings.smtpUrl);
  try {
    const info = await transport.sendMail({
      from: settings.smtpFrom,
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      attachments: mail.pdf
        ? [{ filename: mail.pdfName, content: Buffer.from(mail.pdf), contentType: 'application/pdf' }]
        : [],
    });
    return {
      messageId: String(info.messageId),
      accepted: (info.accepted as (string | { address: string })[]).map((a) =>
        typeof a === 'string' ? a : a.address,
      ),
    };
  } finally {
    transport.close();
  }
}

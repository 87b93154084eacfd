/**
 * The officers' pages, rendered on the server: plain HTML that works on a phone, one small inline
 * script (the QR scanner, allowed by a per-response CSP nonce) and jsQR served by the portal itself
 * so nothing is fetched from elsewhere. Every value that came from a device, a member or an officer
 * passes through `esc`.
 *
 * Stable element ids the browser test relies on: sign-in `#username #password #totp`; enrol page
 * `#qr-file` (picture upload), `#camera-start`, `#pairing-code`, `#lookup-form`; request page
 * `#device-id #fingerprint #request-age #member-id #member-name #sector #contact #approve #reject`;
 * result `#enrolled`; errors `#error`; devices `#devices` (a row per device `tr[data-device]`,
 * revoke button `.revoke`); audit `#audit`; alerts `#alerts` (a row per alert `tr[data-alert]`), member filter
 * `#alert-member`.
 */
import { escapeHtml } from '../../common/html.js';
import type { DeviceRow, MemberRow, RequestView } from '../enrolment/enrolment-service.js';
import type { Officer } from '../officers/officers.js';
import type { AlertListRow } from '../store/alert-list.js';
import type { AuditRow } from '../store/audit.js';

const esc = escapeHtml;

export interface PageContext {
  readonly nonce: string;
  readonly officer?: Officer;
  readonly csrf?: string;
}

const STYLE = `
*{box-sizing:border-box}body{font:16px/1.4 system-ui,sans-serif;margin:0;color:#111;background:#f6f7f9}
header{background:#0b2e59;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.8rem;align-items:center}
header a,header button{color:#fff;background:none;border:0;font:inherit;text-decoration:underline;cursor:pointer;padding:0}
header strong{margin-right:auto}main{max-width:42rem;margin:0 auto;padding:1rem}
label{display:block;margin:.7rem 0 .2rem;font-weight:600}
input,select,button.primary,button.secondary{font:inherit;padding:.6rem;width:100%;border:1px solid #889;border-radius:.4rem}
button.primary{background:#0b2e59;color:#fff;border:0;margin-top:1rem}button.secondary{background:#fff;margin-top:.5rem}
button.danger{background:#a40000;color:#fff;border:0;padding:.3rem .6rem;border-radius:.3rem}
.card{background:#fff;border-radius:.6rem;padding:1rem;margin:1rem 0;box-shadow:0 1px 3px #0002}
.fingerprint{font:700 1.35rem/1.5 ui-monospace,monospace;word-break:break-all;letter-spacing:.03em;background:#fffbe6;padding:.6rem;border-radius:.4rem}
.error{background:#fdecea;color:#7a0000;padding:.7rem;border-radius:.4rem}.ok{background:#e8f6ec;color:#0a5c24;padding:.7rem;border-radius:.4rem}
video,canvas{width:100%;max-height:50vh;background:#000;border-radius:.4rem}.hidden{display:none}
table{border-collapse:collapse;width:100%;font-size:.9rem}td,th{border-bottom:1px solid #ddd;padding:.35rem;text-align:left;vertical-align:top}
code{word-break:break-all}.muted{color:#555;font-size:.9rem}`;

export function layout(ctx: PageContext, title: string, body: string): string {
  const nav = ctx.officer
    ? `<nav><a href="/portal/enrol">Enrol</a> · <a href="/portal/devices">Devices</a> · <a href="/portal/fleet">Fleet</a> · <a href="/portal/alerts">Alerts</a> · <a href="/portal/audit">Audit log</a></nav>
<form method="post" action="/portal/sign-out"><input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><button>Sign out ${esc(ctx.officer.username)} (${esc(ctx.officer.forceId)})</button></form>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} · CyberAlarm portal</title><style nonce="${esc(ctx.nonce)}">${STYLE}</style></head>
<body><header><strong>CyberAlarm · police portal</strong>${nav}</header><main>
<h1>${esc(title)}</h1>
${body}
</main></body></html>`;
}

export function errorBox(message: string | undefined): string {
  return message ? `<p class="error" id="error" role="alert">${esc(message)}</p>` : '';
}

export function signInPage(ctx: PageContext, error?: string, username = ''): string {
  return layout(
    ctx,
    'Sign in',
    `${errorBox(error)}
<form method="post" action="/portal/sign-in" class="card">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" required value="${esc(username)}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password" required>
<label for="totp">6-digit code from your authenticator app</label>
<input id="totp" name="totp" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="one-time-code" required>
<button class="primary" type="submit">Sign in</button>
</form>`,
  );
}

/** The scanner: camera (getUserMedia) or a picture (file input, which phones open as the camera),
 * both decoded in the browser by jsQR; the decoded text is posted as `qr`. */
const SCANNER_SCRIPT = `
(function(){
  var form=document.getElementById('lookup-form'),qr=document.getElementById('qr'),status=document.getElementById('scan-status');
  var canvas=document.createElement('canvas'),ctx=canvas.getContext('2d',{willReadFrequently:true});
  function say(t){status.textContent=t;}
  function decode(source,w,h){
    // Shrunk first (fast on a phone); a big photo with a small QR code is retried at up to 4096 px.
    return decodeAt(source,w,h,1280)||(Math.max(w,h)>1280?decodeAt(source,w,h,4096):null);
  }
  function decodeAt(source,w,h,max){
    var scale=Math.min(1,max/Math.max(w,h));canvas.width=Math.round(w*scale);canvas.height=Math.round(h*scale);
    ctx.drawImage(source,0,0,canvas.width,canvas.height);
    var img=ctx.getImageData(0,0,canvas.width,canvas.height);
    var code=jsQR(img.data,img.width,img.height,{inversionAttempts:'attemptBoth'});
    return code&&code.data?code.data:null;
  }
  function found(text){
    if(text.indexOf('cyberalarm-enrol:')!==0){say('That QR code is not a CyberAlarm enrolment code.');return false;}
    say('QR code read; looking up the device…');qr.value=text;form.submit();return true;
  }
  document.getElementById('qr-file').addEventListener('change',function(e){
    var file=e.target.files&&e.target.files[0];if(!file)return;say('Reading picture…');
    var img=new Image(),url=URL.createObjectURL(file);
    img.onload=function(){var text=decode(img,img.naturalWidth,img.naturalHeight);URL.revokeObjectURL(url);
      if(!text)say('No QR code found in that picture: try again closer, or type the pairing code.');else found(text);};
    img.onerror=function(){say('That file is not a picture.');};img.src=url;
  });
  var video=document.getElementById('camera'),stream=null;
  document.getElementById('camera-start').addEventListener('click',function(){
    if(!navigator.mediaDevices||!navigator.mediaDevices.getUserMedia){say('No camera access here: take a picture instead.');return;}
    navigator.mediaDevices.getUserMedia({video:{facingMode:'environment'},audio:false}).then(function(s){
      stream=s;video.srcObject=s;video.classList.remove('hidden');video.play();say('Point the camera at the QR code on the appliance page.');
      (function tick(){
        if(!stream)return;
        if(video.readyState>=2&&video.videoWidth){var text=decode(video,video.videoWidth,video.videoHeight);
          if(text&&found(text)){stream.getTracks().forEach(function(t){t.stop();});stream=null;return;}}
        requestAnimationFrame(tick);
      })();
    },function(err){say('Camera not available ('+err.name+'): take a picture instead.');});
  });
})();`;

export function enrolPage(ctx: PageContext, error?: string): string {
  return layout(
    ctx,
    'Enrol an appliance',
    `${errorBox(error)}
<div class="card">
<p>Scan the QR code shown on the appliance's status page.</p>
<button class="primary" type="button" id="camera-start">Scan with camera</button>
<video id="camera" class="hidden" playsinline muted></video>
<label for="qr-file">Or take / choose a picture of the QR code</label>
<input type="file" id="qr-file" accept="image/*" capture="environment">
<p id="scan-status" class="muted" aria-live="polite"></p>
</div>
<form method="post" action="/portal/enrol/lookup" id="lookup-form" class="card">
<input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><input type="hidden" name="qr" id="qr" value="">
<label for="pairing-code">No camera? Type the pairing code shown under the QR code</label>
<input id="pairing-code" name="pairingCode" autocomplete="off" autocapitalize="characters" placeholder="ABCD-EFGH" maxlength="12">
<button class="secondary" type="submit">Look up</button>
</form>
<script src="/portal/assets/jsQR.js"></script>
<script nonce="${esc(ctx.nonce)}">${SCANNER_SCRIPT}</script>`,
  );
}

export function formatAge(seconds: number): string {
  if (seconds < 90) return `${seconds} seconds`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} minutes`;
  if (seconds < 48 * 3600) return `${Math.round(seconds / 3600)} hours`;
  return `${Math.round(seconds / 86400)} days`;
}

export function requestPage(
  ctx: PageContext,
  request: RequestView,
  members: readonly MemberRow[],
  error?: string,
): string {
  const options = members
    .map(
      (m) =>
        `<option value="${esc(m.memberId)}">${esc(m.name)}${m.sector ? ` (${esc(m.sector)})` : ''}</option>`,
    )
    .join('');
  const hidden = `<input type="hidden" name="csrf" value="${esc(ctx.csrf)}">
<input type="hidden" name="deviceId" value="${esc(request.deviceId)}">
<input type="hidden" name="pairingCode" value="${esc(request.pairingCode)}">`;
  return layout(
    ctx,
    'Check and approve',
    `${errorBox(error)}
<div class="card">
<p>Device <code id="device-id">${esc(request.deviceId)}</code></p>
<p>Compare this fingerprint with the one on the appliance's page. Approve only if they are identical.</p>
<p class="fingerprint" id="fingerprint">${esc(request.fingerprint)}</p>
<p class="muted">Request made <span id="request-age">${esc(formatAge(request.ageS))}</span> ago${
      request.agentVersion ? ` · agent ${esc(request.agentVersion)}` : ''
    }</p>
</div>
<form method="post" action="/portal/enrol/approve" class="card" id="approve-form">
${hidden}
<label for="member-id">Member organisation</label>
<select id="member-id" name="memberId"><option value="">New member (fill in below)</option>${options}</select>
<fieldset><legend>New member</legend>
<label for="member-name">Name</label><input id="member-name" name="memberName" maxlength="200">
<label for="sector">Sector</label><input id="sector" name="sector" maxlength="200" placeholder="e.g. education, charity, retail">
<label for="contact">Contact (email or phone for reports)</label><input id="contact" name="contact" maxlength="200">
</fieldset>
<button class="primary" type="submit" id="approve">Approve and issue certificate</button>
</form>
<form method="post" action="/portal/enrol/reject" class="card">${hidden}
<button class="secondary" type="submit" id="reject">Reject this request</button></form>`,
  );
}

export function enrolledPage(ctx: PageContext, deviceId: string, memberName: string, notAfter: Date): string {
  return layout(
    ctx,
    'Enrolled',
    `<p class="ok" id="enrolled">Enrolled: <code>${esc(deviceId)}</code> now belongs to ${esc(memberName)}.
Its certificate is valid until ${esc(notAfter.toISOString().slice(0, 10))}; the appliance picks it up within a minute.</p>
<p><a href="/portal/enrol">Enrol another appliance</a> · <a href="/portal/devices">Devices</a></p>`,
  );
}

export function messagePage(ctx: PageContext, title: string, message: string, isError = false): string {
  return layout(
    ctx,
    title,
    `${isError ? errorBox(message) : `<p class="ok" id="message">${esc(message)}</p>`}
<p><a href="/portal/enrol">Enrol</a> · <a href="/portal/devices">Devices</a></p>`,
  );
}

const when = (d: Date | null): string => (d ? esc(d.toISOString().replace('T', ' ').slice(0, 16)) : '—');

export function devicesPage(
  ctx: PageContext,
  devices: readonly DeviceRow[],
  isConnected?: (deviceId: string) => boolean,
): string {
  const connection = (id: string): string =>
    isConnected === undefined ? '—' : isConnected(id) ? '<span class="ok">connected</span>' : 'not connected';
  const rows = devices
    .map(
      (
        d,
      ) => `<tr data-device="${esc(d.deviceId)}"><td><code>${esc(d.deviceId)}</code></td><td>${esc(d.memberName)}</td>
<td class="state">${esc(d.state)}</td><td class="connection">${connection(d.deviceId)}</td><td>${when(d.lastSeen)}</td><td>${when(d.certificateNotAfter)}</td>
<td>${esc(d.approvedBy ?? '')} ${when(d.approvedAt)}</td><td>${
        d.state === 'approved'
          ? `<form method="post" action="/portal/devices/${encodeURIComponent(d.deviceId)}/revoke">
<input type="hidden" name="csrf" value="${esc(ctx.csrf)}"><button class="danger revoke" type="submit">Revoke</button></form>`
          : ''
      }</td></tr>`,
    )
    .join('\n');
  return layout(
    ctx,
    'Devices',
    devices.length === 0
      ? '<p id="devices">No devices enrolled in your force yet.</p>'
      : `<div class="card"><table id="devices"><thead><tr><th>Device</th><th>Member</th><th>State</th><th>Broker</th><th>Last upload</th>
<th>Certificate until</th><th>Approved</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`,
  );
}

export function auditPage(ctx: PageContext, entries: readonly AuditRow[]): string {
  const rows = entries
    .map(
      (e) =>
        `<tr><td>${when(e.at)}</td><td>${esc(e.actor)}</td><td>${esc(e.action)}</td><td><code>${esc(
          e.subject ?? '',
        )}</code></td><td>${esc(e.ip ?? '')}</td><td><code>${esc(JSON.stringify(e.detail))}</code></td></tr>`,
    )
    .join('\n');
  return layout(
    ctx,
    'Audit log',
    `<div class="card"><table id="audit"><thead><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Subject</th><th>From</th>
<th>Detail</th></tr></thead><tbody>${rows}</tbody></table></div>`,
  );
}

/** Recent alerts of the force's members, newest report first; every device-sent value is escaped. */
export function alertsPage(
  ctx: PageContext,
  alerts: readonly AlertListRow[],
  members: readonly MemberRow[],
  memberId: string | undefined,
): string {
  const options = members
    .map(
      (m) =>
        `<option value="${esc(m.memberId)}"${m.memberId === memberId ? ' selected' : ''}>${esc(m.name)}</option>`,
    )
    .join('');
  const filter = `<form method="get" action="/portal/alerts" class="card">
<label for="alert-member">Member</label>
<select id="alert-member" name="member"><option value="">All members of your force</option>${options}</select>
<button class="secondary" type="submit">Show</button></form>`;
  const rows = alerts
    .map(
      (
        a,
      ) => `<tr data-alert="${esc(a.alertId)}"><td>${when(a.updatedAt ?? a.receivedAt)}</td><td>${esc(a.memberName)}<br><code>${esc(a.deviceId)}</code></td>
<td>${esc(a.severity)}${a.label === 'background' ? ' <span class="muted">(background)</span>' : ''}</td><td>${esc(a.detector)}${a.kind ? ` <span class="muted">${esc(a.kind)}</span>` : ''}<br>${esc(a.status ?? '')}</td>
<td><code>${esc(a.subject ?? '')}</code></td><td>${esc(a.events ?? '')}</td>
<td class="summary">${esc(a.summary)}${a.advice ? `<br><span class="muted">${esc(a.advice)}</span>` : ''}</td></tr>`,
    )
    .join('\n');
  return layout(
    ctx,
    'Alerts',
    `${filter}${
      alerts.length === 0
        ? '<p id="alerts">No alerts from your members\' appliances.</p>'
        : `<div class="card"><table id="alerts"><thead><tr><th>Latest report (UTC)</th><th>Member</th><th>Severity</th><th>Detector</th>
<th>Address</th><th>Events</th><th>What happened</th></tr></thead><tbody>${rows}</tbody></table></div>`
    }`,
  );
}

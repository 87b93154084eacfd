/**
 * Setup help on the status page: how to point common firewalls' syslog at this box. Menu paths are
 * those of current releases (pfSense CE 2.7, OPNsense 24, FortiOS 7, SFOS 20, UniFi Network 8-9,
 * RouterOS 7, ASA 9); older releases name things a little differently.
 */
import { escapeHtml } from '../../common/html.js';

export interface SyslogTarget {
  /** How the member reaches this box (the Host of the page request), without the port. */
  readonly host: string;
  readonly udpPort: number;
  readonly tcpPort: number;
  readonly tlsPort?: number;
}

export function renderSetupHelp(target: SyslogTarget): string {
  const loopback = /^(localhost|127\.|\[?::1\]?$)/.test(target.host);
  const ip = escapeHtml(loopback ? 'THIS-BOX-IP' : target.host);
  const udp = target.udpPort;
  const tcp = target.tcpPort;
  const code = (text: string) => `<pre class="cmd">${text}</pre>`;
  return `<section id="help"><h2>Point your firewall's logs at this box</h2>
<p>Send the firewall's <b>traffic / filter log</b> as syslog to <code>${ip}</code>, UDP port <b>${udp}</b>
(or TCP port <b>${tcp}</b>${target.tlsPort ? `, or TLS port <b>${target.tlsPort}</b>` : ''}).
${loopback ? "Replace THIS-BOX-IP with this appliance's address on your network. " : ''}The format is
detected by itself; each sender appears under “Log sources” within a minute. Only connection metadata
is kept; see “What leaves this box”.</p>
<details><summary>pfSense</summary><p>Status → System Logs → Settings: tick <i>Enable Remote Logging</i>,
put <code>${ip}:${udp}</code> in <i>Remote log servers</i>, tick <i>Firewall Events</i> under
<i>Remote Syslog Contents</i>, Save. Firewall rules log when <i>Log packets that are handled by this rule</i>
is ticked; default block rules log by default.</p></details>
<details><summary>OPNsense</summary><p>System → Settings → Logging → <i>Remote</i> tab, <b>+</b>: Transport
<i>UDP(4)</i>, Applications <i>filter (filterlog)</i>, Levels: all, Hostname <code>${ip}</code>, Port
<code>${udp}</code>, Save and Apply. Tick <i>Log</i> on the firewall rules you want reported.</p></details>
<details><summary>FortiGate</summary>${code(`config log syslogd setting
    set status enable
    set server "${ip}"
    set mode udp
    set port ${udp}
    set format default
end
config log syslogd filter
    set forward-traffic enable
    set local-traffic enable
end`)}<p>On each firewall policy set <i>Log Allowed Traffic</i> to <i>All Sessions</i> (CLI:
<code>set logtraffic all</code>).</p></details>
<details><summary>Sophos Firewall</summary><p>System services (Configure → System services on older
versions) → Log settings → Syslog servers → <i>Add</i>: IP address <code>${ip}</code>, Port <code>${udp}</code>,
Facility <i>DAEMON</i>, Severity <i>Information</i>, Format <i>Standard format</i>, Save. Then in the log
settings table tick <i>Firewall</i> (and <i>IPS</i>, <i>ATP</i> if licensed) for that server and Apply.</p></details>
<details><summary>UniFi</summary><p>UniFi Network → Settings → Control Plane → Integrations (on older
versions Settings → System → Advanced → <i>Remote Logging</i>): enable <i>SIEM Server</i> / <i>Remote
Syslog</i>, server <code>${ip}</code>, port <code>${udp}</code>, and include firewall logs. Turn on
<i>Syslog</i>/<i>Logging</i> on the firewall rules you want reported.</p></details>
<details><summary>MikroTik RouterOS</summary>${code(`/system logging action add name=cyberalarm target=remote remote=${ip} remote-port=${udp} bsd-syslog=yes
/system logging add topics=firewall action=cyberalarm`)}<p>Then set <code>log=yes</code> on the
<code>/ip firewall filter</code> rules you want reported.</p></details>
<details><summary>Cisco ASA</summary>${code(`logging enable
logging timestamp
logging trap informational
logging host inside ${ip}${udp === 514 ? '' : ` udp/${udp}`}`)}<p>Use the name of the interface that
reaches this box instead of <code>inside</code>. Connection build/teardown and deny messages
(302013-302021, 106023, 106100) are at level 6 (informational) and below.</p></details>
<details><summary>Anything else</summary><p>Any firewall that sends syslog (RFC 3164 or RFC 5424; CEF
and LEEF too) works: send it to <code>${ip}</code> UDP <code>${udp}</code> or TCP <code>${tcp}</code>.
If a sender shows as unparsed, look at its samples below and tell your police contact.</p></details>
<p class="muted">The JSON under <code>/api/status</code> and <code>/metrics</code> answer in full to this box
itself (127.0.0.1 / ::1) and to a signed-in browser; from the rest of the network
<code>/api/status</code> shows only the enrolment state and basic health. Do not put a reverse proxy on
this box in front of the page: every request would then look local.</p>
</section>`;
}

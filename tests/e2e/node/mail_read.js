// imapflow through snigate: node mail_read.js '{"port": P, "servername": NAME, "ca": CAFILE,
//   "user": U, "password": PW, "subject": S}'
// Connects to 127.0.0.1:P in plain IMAP, requires STARTTLS (doSTARTTLS), sends NAME as SNI and
// verifies the certificate against CAFILE and NAME (no /etc/hosts entry needed), logs in, opens
// INBOX read-only and fetches every message whose Subject contains S. Without "servername": no
// SNI, and no name checked.
// Prints one JSON line: {"ok": true, "messages": [RAW, ...], "greeting": "...", "secure": true,
// "serverInfo": {...}, "log": [...]} or {"ok": false, "error": MESSAGE, "code": CODE,
// "responseStatus": "NO", "responseText": "...", "serverResponseCode": "AUTHENTICATIONFAILED",
// "authenticationFailed": bool, "log": [...]}; "log" holds imapflow's own log messages.
'use strict';
const fs = require('fs');
const { ImapFlow } = require('imapflow');

const a = JSON.parse(process.argv[2]);
const log = [];
const keep = (level) => (entry) => {
  const e = entry || {};
  log.push(`${level}: ${e.msg || ''}${e.err ? ' ' + (e.err.message || e.err) : ''}`);
};
const logger = { debug: keep('debug'), info: keep('info'), warn: keep('warn'), error: keep('error') };

// Without "servername" no SNI is sent (the host is an address): the chain is still verified
// against CAFILE, the name not, as an application that connects to an address must do.
const tls = { ca: fs.readFileSync(a.ca), rejectUnauthorized: true };
if (!a.servername) tls.checkServerIdentity = () => undefined;

const client = new ImapFlow({
  host: '127.0.0.1',
  port: Number(a.port),
  secure: false,
  doSTARTTLS: true,
  ...(a.servername ? { servername: a.servername } : {}),
  tls,
  auth: { user: a.user, pass: a.password },
  connectionTimeout: 5000,
  greetingTimeout: 5000,
  socketTimeout: 10000,
  logger,
});
client.on('error', (err) => log.push(`error event: ${err.message}`));

(async () => {
  let out;
  try {
    await client.connect();
    const messages = [];
    const lock = await client.getMailboxLock('INBOX', { readOnly: true });
    try {
      const uids = await client.search({ subject: a.subject }, { uid: true });
      if (uids && uids.length) {
        for await (const msg of client.fetch(uids, { source: true }, { uid: true })) {
          messages.push(msg.source.toString('utf8'));
        }
      }
    } finally {
      lock.release();
    }
    out = { ok: true, messages, greeting: client.greeting || null, secure: client.secureConnection || false,
            serverInfo: client.serverInfo, log };
    await client.logout();
  } catch (err) {
    out = { ok: false, error: err.message, code: err.code || null, responseStatus: err.responseStatus || null,
            responseText: err.responseText || null, serverResponseCode: err.serverResponseCode || null,
            authenticationFailed: !!err.authenticationFailed, log };
    client.close();
  }
  console.log(JSON.stringify(out));
})();

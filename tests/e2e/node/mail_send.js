// nodemailer through snigate: node mail_send.js '{"port": P, "servername": NAME, "ca": CAFILE,
//   "user": U, "password": PW, "from": F, "to": T, "subject": S, "text": BODY}'
// Connects to 127.0.0.1:P in plain SMTP, requires STARTTLS (requireTLS), sends NAME as SNI and
// verifies the certificate against CAFILE and NAME (no /etc/hosts entry needed), logs in (when
// "user" is given) and sends one message. Without "servername": no SNI, and no name checked.
// Prints one JSON line: {"ok": true, "response": "250 ...", "accepted": [...], "rejected": [...],
// "transcript": [...]} or {"ok": false, "error": MESSAGE, "code": "EAUTH"/"ETLS"/..., "responseCode": N,
// "response": "535 ...", "command": "AUTH PLAIN", "transcript": [...]}; "transcript" holds the SMTP
// lines nodemailer logged, "S: " what the server said, "C: " what the client sent (nodemailer
// masks the password).
'use strict';
const fs = require('fs');
const util = require('util');
const nodemailer = require('nodemailer');

const a = JSON.parse(process.argv[2]);
const transcript = [];
const keep = (entry, message, ...args) => {
  const who = { server: 'S: ', client: 'C: ' }[(entry || {}).tnx] || '';
  for (const l of util.format(message, ...args).split(/\r?\n/)) if (l) transcript.push(who + l);
};
const logger = { trace: keep, debug: keep, info: keep, warn: keep, error: keep, fatal: keep };

// Without "servername" no SNI is sent (the host is an address): the chain is still verified
// against CAFILE, the name not, as an application that connects to an address must do.
const tls = { ca: fs.readFileSync(a.ca), rejectUnauthorized: true };
if (a.servername) tls.servername = a.servername;
else tls.checkServerIdentity = () => undefined;

const transport = nodemailer.createTransport({
  host: '127.0.0.1',
  port: Number(a.port),
  secure: false,
  requireTLS: true,
  name: 'client.test',
  tls,
  auth: a.user ? { user: a.user, pass: a.password } : undefined,
  connectionTimeout: 5000,
  greetingTimeout: 5000,
  socketTimeout: 10000,
  logger,
  debug: true,
});

(async () => {
  try {
    const info = await transport.sendMail({ from: a.from, to: a.to, subject: a.subject, text: a.text || 'via snigate' });
    console.log(JSON.stringify({ ok: true, response: info.response, accepted: info.accepted, rejected: info.rejected,
                                 messageId: info.messageId, transcript }));
  } catch (err) {
    console.log(JSON.stringify({ ok: false, error: err.message, code: err.code || null,
                                 responseCode: err.responseCode || null, response: err.response || null,
                                 command: err.command || null, transcript }));
  } finally {
    transport.close();
  }
})();

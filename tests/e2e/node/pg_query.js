// node pg (node-postgres) for snigate's e2e tests: node pg_query.js '{"port": P, "servername": NAME,
//   "ca": CAFILE, "user": U, "password": PW, "database": DB, "sql": SQL}'
// Connects to 127.0.0.1:P, asks for TLS with an SSLRequest, sends NAME as SNI and verifies the
// certificate against CAFILE and NAME (no /etc/hosts entry needed), runs one query.
// Prints {"rows": [...]} or {"error": "...", "code": SQLSTATE or null} as one JSON line.
'use strict';
const fs = require('fs');
const { Client } = require('pg');

const a = JSON.parse(process.argv[2]);
const client = new Client({
  host: '127.0.0.1',
  port: Number(a.port),
  user: a.user,
  password: a.password,
  database: a.database || a.user,
  ssl: { ca: fs.readFileSync(a.ca), servername: a.servername, rejectUnauthorized: true },
  connectionTimeoutMillis: 5000,
  query_timeout: 10000,
});

(async () => {
  try {
    await client.connect();
    const res = await client.query(a.sql);
    console.log(JSON.stringify({ rows: res.rows }));
  } catch (err) {
    console.log(JSON.stringify({ error: err.message, code: err.code || null }));
  } finally {
    try { await client.end(); } catch (e) { /* already closed */ }
  }
})();

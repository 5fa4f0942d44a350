// node mysql2 through snigate: node mysql_query.js PORT NAME CA USER PASSWORD SQL
// Connects to 127.0.0.1:PORT but tells mysql2 the host is NAME, so it sends NAME
// as SNI and verifies the certificate against it (no /etc/hosts entry needed).
// Prints {"rows": [...]} or {"errno": N, "message": "..."} as one JSON line.
'use strict';
const fs = require('fs');
const net = require('net');
const mysql = require('mysql2');

const [port, name, ca, user, password, sql] = process.argv.slice(2);
const conn = mysql.createConnection({
  host: name,
  user,
  password,
  stream: () => net.connect(Number(port), '127.0.0.1'),
  ssl: { ca: fs.readFileSync(ca), rejectUnauthorized: true, verifyIdentity: true },
  connectTimeout: 5000,
});
conn.query(sql, (err, rows) => {
  if (err) console.log(JSON.stringify({ errno: err.errno || null, code: err.code, message: err.message }));
  else console.log(JSON.stringify({ rows }));
  conn.destroy();
});

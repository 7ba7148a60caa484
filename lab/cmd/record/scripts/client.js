// Fetches one HTTPS URL with https.get and prints the error it gets (code and message, as
// Node.js prints an Error). The URL's host resolves to 127.0.0.1.
//
// Usage: node client.js URL --ca FILE [--cert FILE --key FILE] [--min-version TLSv1.x]
//        [--max-version TLSv1.x] [--ciphers LIST] [--timeout MS]
'use strict';
const fs = require('fs');
const https = require('https');

const args = process.argv.slice(2);
const url = args.shift();
const opt = {};
while (args.length) {
  const name = args.shift().replace(/^--/, '');
  opt[name] = args.shift();
}

const options = {
  ca: fs.readFileSync(opt.ca),
  lookup: (host, o, cb) => (o && o.all) ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4),
  signal: AbortSignal.timeout(Number(opt.timeout || 3000)),
  agent: false,
};
if (opt.cert) options.cert = fs.readFileSync(opt.cert);
if (opt.key) options.key = fs.readFileSync(opt.key);
if (opt['min-version']) options.minVersion = opt['min-version'];
if (opt['max-version']) options.maxVersion = opt['max-version'];
if (opt.ciphers) options.ciphers = opt.ciphers;

const req = https.get(url, options, (res) => {
  let body = '';
  res.setEncoding('utf8');
  res.on('data', (d) => { body += d; });
  res.on('end', () => {
    console.log(`HTTP ${res.statusCode}`);
    process.stdout.write(body);
    process.exitCode = res.statusCode < 400 ? 0 : 2;
  });
});
req.on('error', (err) => {
  console.error(`code: ${err.code}`);
  console.error(`message: ${err.message}`);
  console.error(err);
  process.exitCode = 1;
});

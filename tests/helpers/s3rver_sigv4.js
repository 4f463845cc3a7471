// s3rver behind a front that checks AWS SigV4 header signatures, for the
// S3 remote cache test (s3rver 3 checks the access key id, not the
// signature). Usage:
//   node s3rver_sigv4.js S3RVER_MODULE_DIR DATA_DIR BUCKET REGION KEY_ID SECRET [TOKEN]
// Prints "listening on 127.0.0.1:<port>" (the front) once both listen.
// Buckets are addressed path-style, or virtual-hosted as
// <bucket>.s3.localhost:<port>.
// A request is refused with 403 unless it carries an AWS4-HMAC-SHA256
// Authorization for KEY_ID in REGION and service s3, signing host,
// x-amz-date and x-amz-content-sha256 (and x-amz-security-token = TOKEN
// when TOKEN is given), whose signature is the one SECRET gives, and whose
// x-amz-content-sha256 is the body's SHA-256. Then it is passed to s3rver.
'use strict';
const crypto = require('crypto');
const http = require('http');
const path = require('path');

const [moduleDir, dataDir, bucket, region, keyId, secret, token] = process.argv.slice(2);
const S3rver = require(path.resolve(moduleDir));

const sha256 = (b) => crypto.createHash('sha256').update(b).digest('hex');
const hmac = (k, s) => crypto.createHmac('sha256', k).update(s).digest();

function deny(res, code, message) {
  res.writeHead(403, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
}

// null when the request is signed right, else [code, message].
function check(req, body) {
  const auth = req.headers.authorization || '';
  const m = auth.match(/^AWS4-HMAC-SHA256 Credential=([^/,]+)\/(\d{8})\/([^/,]+)\/([^/,]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/);
  if (!m) return ['AccessDenied', 'no AWS SigV4 authorization'];
  const [, id, date, reg, service, signedHeaders, signature] = m;
  if (id !== keyId) return ['InvalidAccessKeyId', 'unknown access key id'];
  if (reg !== region || service !== 's3') return ['AuthorizationHeaderMalformed', `scope ${reg}/${service}`];
  const signed = signedHeaders.split(';');
  const need = ['host', 'x-amz-date', 'x-amz-content-sha256'].concat(token ? ['x-amz-security-token'] : []);
  for (const h of need) if (!signed.includes(h)) return ['AccessDenied', `${h} is not signed`];
  if (token && req.headers['x-amz-security-token'] !== token) return ['InvalidToken', 'wrong session token'];
  const payload = req.headers['x-amz-content-sha256'];
  if (payload !== sha256(body)) return ['XAmzContentSHA256Mismatch', 'x-amz-content-sha256 is not the body\'s'];
  const amzDate = req.headers['x-amz-date'] || '';
  if (!amzDate.startsWith(date)) return ['AccessDenied', 'x-amz-date'];
  const u = new URL(req.url, 'http://x');
  const query = [...u.searchParams].map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).sort().join('&');
  const headers = signed.map((h) => `${h}:${String(req.headers[h] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonical = [req.method, u.pathname, query, headers, signedHeaders, payload].join('\n');
  const scope = `${date}/${reg}/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), reg), 's3'), 'aws4_request');
  const want = crypto.createHmac('sha256', key).update(toSign).digest('hex');
  if (!crypto.timingSafeEqual(Buffer.from(want), Buffer.from(signature))) {
    return ['SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.'];
  }
  return null;
}

async function main() {
  // Virtual-hosted requests go to <bucket>.s3.localhost (libcurl resolves *.localhost to loopback).
  const s3 = new S3rver({
    address: '127.0.0.1', port: 0, directory: dataDir, silent: true, serviceEndpoint: 'localhost',
    configureBuckets: [{ name: bucket }],
  });
  const inner = await s3.run();
  const front = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const bad = check(req, body);
      if (bad) return deny(res, bad[0], bad[1]);
      // the Host header stays: s3rver reads a virtual-hosted bucket from it
      const headers = { ...req.headers, 'content-length': String(body.length) };
      const p = http.request({ host: '127.0.0.1', port: inner.port, method: req.method, path: req.url, headers }, (r) => {
        res.writeHead(r.statusCode, r.headers);
        r.pipe(res);
      });
      p.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
      p.end(body);
    });
  });
  front.listen(0, '127.0.0.1', () => {
    process.stdout.write(`listening on 127.0.0.1:${front.address().port}\n`);
  });
}

main().catch((e) => { console.error(e); process.exit(1); });

// Transport (等保 2.0: 通信传输): IPv6 beside IPv4, TLS built in, and the
// session cookie's Secure flag whenever a request came over TLS, including
// through the trusted reverse proxy (X-Forwarded-Proto), never on the word
// of anyone else.
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const os = require('node:os');
const path = require('node:path');
const { startServer, freePort, DEMO_PASSWORD, ADMIN_PASSWORD } = require('./helpers');

// One request over node:http(s) to host:port; body JSON.
function call(mod, { host, port, method = 'GET', path: p, headers = {}, body, ca }) {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const h = { ...headers };
    if (payload) { h['content-type'] = 'application/json'; h['content-length'] = Buffer.byteLength(payload); }
    const req = mod.request({ host, port, method, path: p, headers: h, ca, servername: 'localhost' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { json = null; }
        resolve({ status: res.statusCode, headers: res.headers, text, json, socket: req.socket });
      });
    });
    req.on('error', reject);
    req.end(payload);
  });
}

const signIn = (mod, where, extra = {}) => call(mod, { ...where, method: 'POST', path: '/api/v1/session',
  body: { username: 'command', password: DEMO_PASSWORD }, ...extra });

test('listening on IPv6 and IPv4 at once; IPv6 clients are audited and logged by their address', async () => {
  const [p4, p6] = [await freePort(), await freePort()];
  const srv = await startServer({}, null, undefined, { listen: `127.0.0.1:${p4},[::1]:${p6}`,
    ready: async () => (await call(http, { host: '::1', port: p6, path: '/healthz' })).status === 200 });
  try {
    assert.equal((await call(http, { host: '127.0.0.1', port: p4, path: '/healthz' })).status, 200);
    const s6 = await signIn(http, { host: '::1', port: p6 });
    assert.equal(s6.status, 201, s6.text);
    assert.doesNotMatch(s6.headers['set-cookie'][0], /Secure/, 'no TLS, no Secure');
    const admin = (await call(http, { host: '127.0.0.1', port: p4, method: 'POST', path: '/api/v1/session',
      body: { username: 'admin', password: ADMIN_PASSWORD } })).json.token;
    const log = await call(http, { host: '127.0.0.1', port: p4, path: '/api/v1/logins?user=command',
      headers: { authorization: `Bearer ${admin}` } });
    assert.equal(log.json.items[0].address, '::1');
  } finally {
    await srv.stop();
  }
  // [::]:PORT is every address, IPv4 (mapped, written as IPv4) and IPv6.
  const any = await freePort();
  const both = await startServer({ trusted_proxy: '127.0.0.1' }, null, undefined, { listen: `[::]:${any}`,
    ready: async () => (await call(http, { host: '127.0.0.1', port: any, path: '/healthz' })).status === 200 });
  try {
    assert.equal((await call(http, { host: '::1', port: any, path: '/healthz' })).status, 200);
    // An IPv4 peer on the dual-stack socket is 127.0.0.1, so it is the trusted proxy.
    const viaProxy = await signIn(http, { host: '127.0.0.1', port: any }, { headers: { 'x-forwarded-proto': 'https', 'x-real-ip': '10.1.2.3' } });
    assert.equal(viaProxy.status, 201, viaProxy.text);
    assert.match(viaProxy.headers['set-cookie'][0], /; Secure/, 'the proxy said TLS');
    // Anyone else saying so is not believed.
    const liar = await signIn(http, { host: '::1', port: any }, { headers: { 'x-forwarded-proto': 'https' } });
    assert.equal(liar.status, 201);
    assert.doesNotMatch(liar.headers['set-cookie'][0], /Secure/);
  } finally {
    await both.stop();
  }
  const bad = require('./helpers').run(['serve', '--data', os.tmpdir(), '--listen', '[::1:8080']);
  assert.equal(bad.code, 1);
});

test('TLS built in: HTTPS only, and the cookie is Secure', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-tls-'));
  const key = path.join(dir, 'key.pem'), cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key,
    '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const ca = fs.readFileSync(cert);
  const port = await freePort();
  const srv = await startServer({ tls_cert: cert, tls_key: key }, null, undefined, { listen: `127.0.0.1:${port}`,
    ready: async () => (await call(https, { host: '127.0.0.1', port, path: '/healthz', ca })).status === 200 });
  try {
    const s = await signIn(https, { host: '127.0.0.1', port, ca });
    assert.equal(s.status, 201, s.text);
    assert.match(s.headers['set-cookie'][0], /HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    assert.match(s.socket.getProtocol(), /^TLSv1\.[23]$/);
    // Plain HTTP to the TLS port is no request at all.
    await assert.rejects(call(http, { host: '127.0.0.1', port, path: '/healthz' }));
  } finally {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

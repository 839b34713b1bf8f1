// The HTTP surface: health, metrics, the static UI, unknown routes and
// methods, keep-alive, idempotent retries and a graceful shutdown.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');
const { startServer, ROOT, STORE, DEMO } = require('./helpers');
const { expectError, sleep, demoPlaces } = require('./expect');

let srv;
let token;

// A request over node:http (so the socket can be watched).
function request(opts, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, ...opts }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try { json = JSON.parse(text); } catch { json = null; }
        resolve({ status: res.statusCode, headers: res.headers, text, json, socket: req.socket, at: Date.now() });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body !== undefined) req.end(body);
    else req.end();
  });
}

// Sends raw bytes on a fresh connection and returns what came back.
function rawHttp(text) {
  return new Promise((resolve, reject) => {
    const s = net.connect(srv.port, '127.0.0.1', () => s.end(text));
    const chunks = [];
    s.on('data', (c) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('error', reject);
  });
}

// /metrics is for a system administrator or a scraper holding metrics_token.
const METRICS_TOKEN = 'scrape-token-for-the-tests-0123456789';
const scraper = { authorization: `Bearer ${METRICS_TOKEN}` };

async function metrics() {
  const r = await srv.api('GET', '/metrics', { headers: scraper });
  assert.equal(r.status, 200);
  return r.text;
}

// The value of one sample; 0 when absent.
function sample(text, name, labels = '') {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

before(async () => {
  srv = await startServer({ metrics_token: METRICS_TOKEN });
  token = await srv.login('command');
});
after(async () => { if (srv) await srv.stop(); });

test('healthz answers without signing in', async () => {
  const r = await srv.api('GET', '/healthz');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ok');
  assert.equal(r.json.store, STORE);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
});

test('metrics: Prometheus text whose counters follow the requests', async () => {
  const before = await metrics();
  assert.match(before, /^# HELP wangge_http_requests_total /m);
  assert.match(before, /^# TYPE wangge_http_requests_total counter$/m);
  assert.match(before, /^# TYPE wangge_http_request_duration_seconds histogram$/m);
  assert.match(before, /^# TYPE wangge_db_seconds_total counter$/m);
  const me200 = '{method="GET",route="/api/v1/me",status="200"}';
  const me401 = '{method="GET",route="/api/v1/me",status="401"}';
  const item200 = '{method="GET",route="/api/v1/grids/{id}",status="200"}';
  const item404 = '{method="GET",route="/api/v1/grids/{id}",status="404"}';
  const create422 = '{method="POST",route="/api/v1/grids",status="422"}';
  const unmatched = '{method="",route="unmatched",status="404"}';
  for (let i = 0; i < 3; i++) assert.equal((await srv.api('GET', '/api/v1/me', { token })).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await srv.api('GET', '/api/v1/me')).status, 401);
  assert.equal((await srv.api('GET', `/api/v1/grids/${DEMO.grid}`, { token })).status, 200);
  assert.equal((await srv.api('GET', `/api/v1/grids/${DEMO.building}`, { token })).status, 200);
  assert.equal((await srv.api('GET', '/api/v1/grids/99999999', { token })).status, 404);
  assert.equal((await srv.api('POST', '/api/v1/grids', { token, body: {} })).status, 422);
  assert.equal((await srv.api('GET', '/api/v1/nothing-here', { token })).status, 404);
  const now = await metrics();
  assert.equal(sample(now, 'wangge_http_requests_total', me200) - sample(before, 'wangge_http_requests_total', me200), 3);
  assert.equal(sample(now, 'wangge_http_requests_total', me401) - sample(before, 'wangge_http_requests_total', me401), 2);
  assert.equal(sample(now, 'wangge_http_requests_total', item200) - sample(before, 'wangge_http_requests_total', item200), 2);
  assert.equal(sample(now, 'wangge_http_requests_total', item404) - sample(before, 'wangge_http_requests_total', item404), 1);
  assert.equal(sample(now, 'wangge_http_requests_total', create422) - sample(before, 'wangge_http_requests_total', create422), 1);
  assert.equal(sample(now, 'wangge_http_requests_total', unmatched) - sample(before, 'wangge_http_requests_total', unmatched), 1);
  // Histogram: cumulative buckets, +Inf equals the count, which grew by
  // every request in between (the first /metrics included).
  const buckets = now.split('\n').filter((l) => l.startsWith('wangge_http_request_duration_seconds_bucket'))
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
  assert.ok(buckets.length >= 5);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i] >= buckets[i - 1], 'buckets are cumulative');
  const count = sample(now, 'wangge_http_request_duration_seconds_count');
  assert.equal(sample(now, 'wangge_http_request_duration_seconds_bucket', '{le="+Inf"}'), count);
  assert.equal(count - sample(before, 'wangge_http_request_duration_seconds_count'), 11);
  assert.ok(sample(now, 'wangge_http_request_duration_seconds_sum') > sample(before, 'wangge_http_request_duration_seconds_sum'));
  assert.ok(sample(now, 'wangge_db_seconds_total') > 0);
  assert.ok(sample(now, 'wangge_db_seconds_total') >= sample(before, 'wangge_db_seconds_total'));
  // Every sample line is name{labels} value.
  for (const line of now.split('\n').filter((l) => l && !l.startsWith('#'))) {
    assert.match(line, /^[a-z_]+(\{(\w+="[^"]*",?)*\})? [0-9.e+-]+$/, line);
  }
  const r = await srv.api('GET', '/metrics', { headers: scraper });
  assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
});

test('the web UI is served at / and for client-side routes', async () => {
  const index = fs.readFileSync(path.join(ROOT, 'web/dist/index.html'), 'utf8');
  const r = await srv.api('GET', '/');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/html/);
  assert.equal(r.text, index);
  const route = await srv.api('GET', '/grids/5/edit');
  assert.equal(route.status, 200);
  assert.equal(route.text, index);
  assert.equal((await srv.api('GET', '/index.html')).text, index);
  expectError(await srv.api('GET', '/assets/missing-file.js'), 404, 'no_route');
  expectError(await srv.api('POST', '/'), 405, 'method_not_allowed');
  for (const p of ['/../wangge.conf', '/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '//etc/passwd']) {
    const text = await rawHttp(`GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(text, /^HTTP\/1\.1 404/, p);
    assert.doesNotMatch(text, /root:|pwhash|db = /, p);
  }
});

// The raw answer to a GET with these request headers: status, headers and the bytes as sent.
function getRaw(urlPath, headers) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port: srv.port, path: urlPath, headers }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', reject);
  });
}

test('the UI\'s files go out gzipped to those who take it, hashed assets cached for a year, the page never stale', async () => {
  const zlib = require('node:zlib');
  const dist = path.join(ROOT, 'web/dist');
  const index = fs.readFileSync(path.join(dist, 'index.html'));
  for (const p of ['/', '/m/tasks', '/v/ABC123']) {
    const gz = await getRaw(p, { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(gz.status, 200, p);
    assert.equal(gz.headers['content-encoding'], 'gzip', p);
    assert.match(gz.headers['content-type'], /^text\/html/, p);
    assert.equal(gz.headers.vary, 'Accept-Encoding');
    assert.equal(gz.headers['cache-control'], 'no-cache', `${p}: a new build is seen at once`);
    assert.ok(gz.body.length < index.length, 'smaller than the page');
    assert.deepEqual(zlib.gunzipSync(gz.body), index, p);
  }
  const plain = await getRaw('/', {});
  assert.equal(plain.headers['content-encoding'], undefined, 'no gzip for a client that did not ask');
  assert.deepEqual(plain.body, index);
  const refused = await getRaw('/', { 'Accept-Encoding': 'gzip;q=0, identity' });
  assert.equal(refused.headers['content-encoding'], undefined, 'gzip;q=0 refuses it');
  const asset = fs.readdirSync(path.join(dist, 'assets')).find((f) => f.endsWith('.js'));
  const js = await getRaw(`/assets/${asset}`, { 'Accept-Encoding': 'gzip' });
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.match(js.headers['content-type'], /^text\/javascript/);
  assert.deepEqual(zlib.gunzipSync(js.body), fs.readFileSync(path.join(dist, 'assets', asset)));
  // The service worker (not hashed: its content names the build) is asked for again, like the page.
  const sw = await getRaw('/sw.js', { 'Accept-Encoding': 'gzip' });
  assert.equal(sw.status, 200);
  assert.equal(sw.headers['cache-control'], 'no-cache');
  assert.match(sw.headers['content-type'], /^text\/javascript/);
  assert.deepEqual(zlib.gunzipSync(sw.body), fs.readFileSync(path.join(dist, 'sw.js')));
});

test('unknown API paths are 404 no_route; known paths with a wrong method are 405', async () => {
  for (const p of ['/api/v1/nothing', '/api/v1/grids/abc', '/api/v1/grids/0', '/api/v1/grids/5/parents', '/api/v2/grids', '/api/']) {
    expectError(await srv.api('GET', p, { token }), 404, 'no_route', undefined, p);
    expectError(await srv.api('GET', p), 404, 'no_route', undefined, `${p} without a token`);
  }
  const wrong = [
    ['DELETE', '/api/v1/me'], ['PUT', '/api/v1/grids'], ['DELETE', '/api/v1/grids'], ['POST', '/api/v1/grids/5'],
    ['GET', '/api/v1/grids/5/move'], ['POST', '/healthz'], ['GET', '/api/v1/session'], ['DELETE', '/api/v1/audit'],
  ];
  for (const [m, p] of wrong) {
    expectError(await srv.api(m, p, { token }), 405, 'method_not_allowed', undefined, `${m} ${p}`);
  }
  assert.equal((await srv.api('GET', `/api/v1/grids/${DEMO.building}`, { token })).json.name, '1号楼');
});

test('keep-alive: one connection carries many requests, successes and errors alike', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const auth = { authorization: `Bearer ${token}` };
  const body = JSON.stringify({ parent_id: DEMO.grid, kind: 'building', name: '长连接楼' });
  const steps = [
    [{ path: '/healthz' }, undefined, 200],
    [{ path: '/api/v1/me', headers: auth }, undefined, 200],
    [{ path: '/api/v1/grids', method: 'POST', headers: { ...auth, 'content-type': 'application/json' } }, body, 201],
    [{ path: '/api/v1/grids?limit=0', headers: auth }, undefined, 400],
    [{ path: '/api/v1/grids', method: 'POST', headers: { ...auth, 'content-type': 'application/json' } }, '{"name":', 400],
    [{ path: '/api/v1/nothing', headers: auth }, undefined, 404],
    [{ path: '/api/v1/me' }, undefined, 401],
    [{ path: '/' }, undefined, 200],
    [{ path: '/metrics', headers: scraper }, undefined, 200],
    [{ path: '/metrics' }, undefined, 401],
    [{ path: '/healthz' }, undefined, 200],
  ];
  let socket = null;
  try {
    for (const [opts, b, status] of steps) {
      const r = await request({ agent, ...opts }, b);
      assert.equal(r.status, status, `${opts.path}: ${r.text}`);
      assert.notEqual(r.headers.connection, 'close', opts.path);
      if (socket) assert.equal(r.socket, socket, `${opts.method || 'GET'} ${opts.path} reused the connection`);
      socket = r.socket;
    }
  } finally {
    agent.destroy();
  }
});

test('keep-alive: the same path asked again with another id or another method gets its own route', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const auth = { authorization: `Bearer ${token}` };
  const steps = [
    [`/api/v1/grids/${DEMO.county}`, 'GET', 200, DEMO.county],
    [`/api/v1/grids/${DEMO.grid}`, 'GET', 200, DEMO.grid],
    [`/api/v1/grids/${DEMO.county}`, 'GET', 200, DEMO.county],
    [`/api/v1/grids/${DEMO.county}`, 'GET', 200, DEMO.county],
    ['/api/v1/me', 'GET', 200, null],
    ['/api/v1/me', 'PUT', 405, null],
    ['/api/v1/me', 'PUT', 405, null],
    ['/api/v1/me', 'GET', 200, null],
    [`/api/v1/grids/${DEMO.street}`, 'GET', 200, DEMO.street],
  ];
  let socket = null;
  try {
    for (const [p, method, status, id] of steps) {
      const r = await request({ agent, path: p, method, headers: auth });
      assert.equal(r.status, status, `${method} ${p}: ${r.text}`);
      if (id !== null) assert.equal(r.json.id, id, `${method} ${p}`);
      else if (status === 200) assert.equal(r.json.username, 'command', `${method} ${p}`);
      if (socket) assert.equal(r.socket, socket, `${method} ${p} reused the connection`);
      socket = r.socket;
    }
  } finally {
    agent.destroy();
  }
});

test('request headers: 6 KiB of them are served, an oversize header is 431 and the server goes on', async () => {
  const big = 'x'.repeat(6 * 1024);
  const ok = await request({ path: `/api/v1/grids/${DEMO.county}`, headers: { authorization: `Bearer ${token}`, 'x-note': big } });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.id, DEMO.county);
  const huge = await request({ path: '/healthz', headers: { 'x-note': 'y'.repeat(32 * 1024) } });
  assert.equal(huge.status, 431);
  assert.equal((await request({ path: '/healthz' })).status, 200);
});

test('Idempotency-Key: a retried POST returns the first answer and creates nothing new', async () => {
  const count = async () => (await srv.api('GET', `/api/v1/grids?parent_id=${DEMO.grid}`, { token })).json.total;
  const n0 = await count();
  const send = (body, key, t = token, p = '/api/v1/grids') => srv.api('POST', p, { token: t, body, headers: { 'idempotency-key': key } });
  const body = { parent_id: DEMO.grid, kind: 'building', name: '重发楼' };
  const first = await send(body, 'retry-key-1');
  assert.equal(first.status, 201, first.text);
  for (let i = 0; i < 3; i++) {
    const again = await send(body, 'retry-key-1');
    assert.equal(again.status, 201);
    assert.deepEqual(again.json, first.json);
  }
  assert.equal(await count(), n0 + 1);
  // A different body under the same key is another request: 422, and nothing is written.
  const changed = await send({ ...body, name: '另一栋' }, 'retry-key-1');
  expectError(changed, 422, 'idempotency_key_reused', 'Idempotency-Key');
  assert.equal(await count(), n0 + 1);
  // The same key on another endpoint likewise, and creates nothing.
  const users = (await srv.api('GET', '/api/v1/users?limit=1000', { token })).json.items.length;
  const other = await send({ username: 'idem-user', password: 'Idem-user-password-1', role: 'volunteer', scope_node_id: 4 },
    'retry-key-1', token, '/api/v1/users');
  expectError(other, 422, 'idempotency_key_reused', 'Idempotency-Key');
  assert.equal((await srv.api('GET', '/api/v1/users?limit=1000', { token })).json.items.length, users);
  // Keys belong to the user: another user's identical key is a new request.
  const ct = await srv.login('community');
  const theirs = await send(body, 'retry-key-1', ct);
  assert.equal(theirs.status, 201);
  assert.notEqual(theirs.json.id, first.json.id);
  assert.equal(await count(), n0 + 2);
  // A new key is a new request.
  const fresh = await send(body, 'retry-key-2');
  assert.equal(fresh.status, 201);
  assert.notEqual(fresh.json.id, first.json.id);
  assert.equal(await count(), n0 + 3);
  // A retried move is applied once.
  const sibling = (await demoPlaces(srv, token)).siblingGrid;
  const mv = (key) => srv.api('POST', `/api/v1/grids/${fresh.json.id}/move`, { token, body: { parent_id: sibling }, headers: { 'idempotency-key': key } });
  const m1 = await mv('move-key');
  assert.equal(m1.status, 200);
  const m2 = await mv('move-key');
  assert.deepEqual(m2.json, m1.json);
  assert.equal((await srv.api('GET', `/api/v1/grids/${fresh.json.id}`, { token })).json.version, m1.json.version);
});

test('Idempotency-Key: retries sent at the same time all get the one answer', async () => {
  const count = async () => (await srv.api('GET', `/api/v1/grids?parent_id=${DEMO.grid}`, { token })).json.total;
  const n0 = await count();
  const body = { parent_id: DEMO.grid, kind: 'building', name: '同时重发楼' };
  const answers = [];
  for (let round = 0; round < 4; round++) {
    const rs = await Promise.all([0, 1, 2, 3].map(() =>
      srv.api('POST', '/api/v1/grids', { token, body, headers: { 'idempotency-key': `same-time-${round}` } })));
    answers.push(rs.map((r) => `${r.status}:${r.json.id || r.json.error.code}`));
  }
  assert.equal(await count(), n0 + 4);
  for (const round of answers) {
    assert.deepEqual(round, [round[0], round[0], round[0], round[0]]);
    assert.match(round[0], /^201:/);
  }
});

// Holds a create request open (its body half sent) so that the server has a
// request in flight for as long as the test wants.
function slowCreate(server, t, name) {
  const body = Buffer.from(JSON.stringify({ parent_id: DEMO.grid, kind: 'building', name }));
  let req;
  const done = new Promise((resolve, reject) => {
    req = http.request({
      host: '127.0.0.1', port: server.port, method: 'POST', path: '/api/v1/grids',
      headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json', 'content-length': body.length },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8'), at: Date.now() }));
    });
    req.on('error', reject);
  });
  req.write(body.subarray(0, 10));
  return { done, finish: () => req.end(body.subarray(10)) };
}

function exitOf(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode, at: Date.now() });
    else child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
}

test('graceful shutdown: requests under way at SIGTERM complete, the process exits 0', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    // An open connection for the large list.
    assert.equal((await request({ agent, path: '/healthz' })).status, 200);
    // A create whose body is still arriving when the signal comes.
    const upload = slowCreate(srv, token, '关机时创建的楼');
    await sleep(200);
    const list = request({ agent, path: '/api/v1/grids?limit=1000', headers: { authorization: `Bearer ${token}` } });
    await sleep(15);
    const exited = exitOf(srv.child);
    let exitedAt = 0;
    exited.then((e) => { exitedAt = e.at; });
    srv.child.kill('SIGTERM');
    await sleep(300);
    assert.equal(exitedAt, 0, 'the server waits for the unfinished request');
    upload.finish();
    const [c, l] = await Promise.all([upload.done, list]);
    assert.equal(l.status, 200, l.text.slice(0, 200));
    assert.equal(l.json.items.length, 1000, 'the list arrived complete');
    assert.equal(c.status, 201, c.text);
    const node = JSON.parse(c.text);
    const e = await exited;
    assert.deepEqual([e.code, e.signal], [0, null], srv.stderr);
    assert.ok(e.at >= c.at, 'exited after answering');
    const s = srv;
    srv = null;
    await s.stop(); // sanitizer check; the process has already exited
    // What the last request wrote was committed.
    const again = await startServer({}, s.data);
    try {
      const t = await again.login('command');
      const r = await again.api('GET', `/api/v1/grids/${node.id}`, { token: t });
      assert.equal(r.status, 200);
      assert.equal(r.json.name, '关机时创建的楼');
    } finally {
      await again.stop();
    }
  } finally {
    agent.destroy();
  }
});

test('a second SIGTERM during the shutdown does not kill the process', async () => {
  const server = await startServer();
  const exited = exitOf(server.child);
  try {
    const t = await server.login('command');
    const upload = slowCreate(server, t, '两次信号');
    const answer = upload.done.catch((err) => ({ status: 0, text: String(err) }));
    await sleep(200);
    server.child.kill('SIGTERM');
    await sleep(100);
    server.child.kill('SIGTERM');
    await sleep(100);
    upload.finish();
    const c = await answer;
    assert.equal(c.status, 201, c.text);
    const e = await exited;
    assert.deepEqual([e.code, e.signal], [0, null]);
  } finally {
    await exited;
    await server.stop();
  }
});

// Issue 14, the requests an attacker sends: cross-site writes (point 3), a
// reused Idempotency-Key (4), a disabled account's password oracle (9), weak
// passwords (10), the small input holes (11) and who reads /metrics (12).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { startServer, ADMIN_PASSWORD, DEMO_PASSWORD, DEMO } = require('./helpers');
const { expectError, poll } = require('./expect');

const METRICS_TOKEN = 'a-scraper-token-of-the-tests-0001';
let srv, admin, command, community, auditor, cookie;

before(async () => {
  srv = await startServer({ metrics_token: METRICS_TOKEN });
  admin = await srv.login('admin', ADMIN_PASSWORD);
  command = await srv.login('command');
  community = await srv.login('community');
  auditor = await srv.login('auditor');
  const s = await srv.api('POST', '/api/v1/session', { body: { username: 'command', password: DEMO_PASSWORD } });
  cookie = s.headers.get('set-cookie').split(';')[0];
});
after(async () => { if (srv) await srv.stop(); });

const childCount = async () => (await srv.api('GET', `/api/v1/grids?parent_id=${DEMO.grid}`, { token: command })).json.total;
const building = (name) => JSON.stringify({ parent_id: DEMO.grid, kind: 'building', name });

// One request over a raw socket: exactly the bytes given, the answer as text.
function rawHttp(text) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(srv.port, '127.0.0.1', () => sock.end(text));
    let out = '';
    sock.on('data', (d) => { out += d; });
    sock.on('end', () => resolve(out));
    sock.on('error', reject);
  });
}

test('CSRF: a cookie-signed write from another site, or saying nowhere where it comes from, is refused', async () => {
  const n0 = await childCount();
  const post = (headers) => srv.api('POST', '/api/v1/grids', { raw: building('跨站楼'), headers: { cookie, 'content-type': 'application/json', ...headers } });
  for (const h of [
    { origin: 'https://evil.example' },
    { origin: 'null' },
    { origin: `http://127.0.0.1:${srv.port}.evil.example` },
    { 'sec-fetch-site': 'cross-site', origin: `http://127.0.0.1:${srv.port}` },
    { 'sec-fetch-site': 'same-site' },
    {},
  ]) {
    expectError(await post(h), 403, 'cross_site', 'Origin', JSON.stringify(h));
  }
  // Deletes and patches alike.
  expectError(await srv.api('PATCH', `/api/v1/grids/${DEMO.building}`, { raw: '{"name":"x"}',
    headers: { cookie, 'content-type': 'application/json', origin: 'https://evil.example' } }), 403, 'cross_site');
  assert.equal(await childCount(), n0, 'nothing was created');
  // From our own page: the Origin is the Host's, or the browser says same-origin.
  const ours = await post({ origin: `http://127.0.0.1:${srv.port}` });
  assert.equal(ours.status, 201, ours.text);
  const fetched = await post({ 'sec-fetch-site': 'same-origin' });
  assert.equal(fetched.status, 201, fetched.text);
  // A bearer token is never sent by a browser on its own: no Origin needed.
  assert.equal((await srv.api('POST', '/api/v1/grids', { token: command, body: { parent_id: DEMO.grid, kind: 'building', name: '令牌楼' } })).status, 201);
  // Reads by cookie need nothing.
  assert.equal((await srv.api('GET', '/api/v1/me', { headers: { cookie } })).status, 200);
  // A sign-in posted by another site's form is refused too (login CSRF).
  expectError(await srv.api('POST', '/api/v1/session', { body: { username: 'command', password: DEMO_PASSWORD },
    headers: { origin: 'https://evil.example' } }), 403, 'cross_site');
});

test('CSRF: a configured public origin (behind a proxy that rewrites Host) is ours', async () => {
  const other = await startServer({ origins: 'https://wangge.example.gov.cn' });
  try {
    const s = await other.api('POST', '/api/v1/session', { body: { username: 'command', password: DEMO_PASSWORD },
      headers: { origin: 'https://wangge.example.gov.cn' } });
    assert.equal(s.status, 201, s.text);
    const c = s.headers.get('set-cookie').split(';')[0];
    const ok = await other.api('POST', '/api/v1/grids', { raw: building('代理楼'),
      headers: { cookie: c, 'content-type': 'application/json', origin: 'https://wangge.example.gov.cn' } });
    assert.equal(ok.status, 201, ok.text);
    expectError(await other.api('POST', '/api/v1/grids', { raw: building('代理楼2'),
      headers: { cookie: c, 'content-type': 'application/json', origin: 'https://wangge.example.gov.cn.evil.example' } }), 403, 'cross_site');
  } finally {
    await other.stop();
  }
});

test('JSON routes need application/json; imports refuse what a plain form can send', async () => {
  const n0 = await childCount();
  // No Content-Type at all (curl -H 'Content-Type:').
  const bare = await rawHttp(`POST /api/v1/grids HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${command}\r\n`
    + `Content-Length: ${Buffer.byteLength(building('无类型楼'))}\r\nConnection: close\r\n\r\n${building('无类型楼')}`);
  assert.match(bare, /^HTTP\/1\.1 415/, bare);
  assert.match(bare, /"code":"unsupported_media"/);
  assert.match(bare, /"field":"Content-Type"/);
  // application/jsonx is not JSON.
  expectError(await srv.api('POST', '/api/v1/grids', { token: command, raw: building('x'), headers: { 'content-type': 'application/jsonx' } }),
    415, 'unsupported_media', 'Content-Type');
  assert.equal(await childCount(), n0);
  // A form's CSV: text/plain and urlencoded bodies are refused before anything is read.
  const csv = '名称,层级,上级编码\n表单楼,building,\n';
  for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
    const r = await srv.api('POST', '/api/v1/grids/import', { token: command, raw: Buffer.from(csv), headers: type ? { 'content-type': type } : {} });
    expectError(r, 415, 'unsupported_media', 'Content-Type', String(type));
  }
  // A form upload (curl -F, the pages' FormData) is taken, but not a bare CSV posing as one,
  // and not from another site's page (the origin check, above).
  expectError(await srv.api('POST', '/api/v1/grids/import', { token: command, raw: Buffer.from(csv),
    headers: { 'content-type': 'multipart/form-data; boundary=----x' } }), 422, 'validation_failed', 'file');
  const foreign = await srv.api('POST', '/api/v1/grids/import', { token: command, raw: Buffer.from(csv),
    headers: { 'content-type': 'multipart/form-data; boundary=----x', origin: 'https://evil.example' } });
  assert.equal(foreign.status, 403, foreign.text);
  assert.equal(foreign.json.error.code, 'cross_site');
  assert.equal(await childCount(), n0, 'no form imported a node');
});

test('Idempotency-Key: the same key with another body is 422 and writes nothing; keys match the whole request', async () => {
  const send = (p, body, key, method = 'POST') => srv.api(method, p, { token: command, body, headers: { 'idempotency-key': key } });
  const n0 = await childCount();
  const first = await send('/api/v1/grids', { parent_id: DEMO.grid, kind: 'building', name: '幂等楼' }, 'idem-1');
  assert.equal(first.status, 201, first.text);
  const again = await send('/api/v1/grids', { parent_id: DEMO.grid, kind: 'building', name: '幂等楼' }, 'idem-1');
  assert.deepEqual([again.status, again.json.id], [201, first.json.id], 'a true retry replays');
  const e = expectError(await send('/api/v1/grids', { parent_id: DEMO.grid, kind: 'building', name: '另一座楼' }, 'idem-1'),
    422, 'idempotency_key_reused', 'Idempotency-Key');
  assert.match(e.message_en, /different request/);
  assert.equal(await childCount(), n0 + 1, 'the second write was neither done nor silently dropped as a success');
  // Keys match the whole request, the id in the path included: /persons/3 after /persons/1 is another request.
  const a = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name: '幂等甲' } });
  const b = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name: '幂等乙' } });
  const patch = (id, key) => srv.api('PATCH', `/api/v1/persons/${id}`, { token: community, body: { name: '改名' }, headers: { 'idempotency-key': key } });
  assert.equal((await patch(a.json.id, 'idem-2')).status, 200);
  expectError(await patch(b.json.id, 'idem-2'), 422, 'idempotency_key_reused', 'Idempotency-Key');
  assert.equal((await srv.api('GET', `/api/v1/persons/${b.json.id}`, { token: community })).json.name, '幂等乙', 'unchanged');
  const replay = await patch(a.json.id, 'idem-2');
  assert.equal(replay.status, 200);
  // An upload is fingerprinted by its bytes (dry runs write nothing, so keep no answer either).
  const up = (text, key) => srv.api('POST', '/api/v1/grids/import', { token: command, raw: Buffer.from(text),
    headers: { 'content-type': 'text/csv', 'idempotency-key': key } });
  const f1 = await up(`名称,层级,上级编号\n试导入楼,building,${DEMO.grid}\n`, 'idem-3');
  const f2 = await up(`名称,层级,上级编号\n试导入楼二,building,${DEMO.grid}\n`, 'idem-3');
  assert.equal(f1.status, 200, f1.text);
  assert.deepEqual((await up(`名称,层级,上级编号\n试导入楼,building,${DEMO.grid}\n`, 'idem-3')).json, f1.json, 'the same file replays');
  expectError(f2, 422, 'idempotency_key_reused', 'Idempotency-Key');
});

test('a disabled account answers exactly as a wrong password, and the attempt is audited', async () => {
  const u = await srv.api('POST', '/api/v1/users', { token: command, body: { username: 'leaver', password: 'Leaver-pass-2026',
    role: 'grid_worker', scope_node_id: DEMO.grid } });
  assert.equal(u.status, 201, u.text);
  assert.equal((await srv.api('PATCH', `/api/v1/users/${u.json.id}`, { token: command, body: { disabled: true } })).status, 200);
  const right = await srv.api('POST', '/api/v1/session', { body: { username: 'leaver', password: 'Leaver-pass-2026' } });
  const wrong = await srv.api('POST', '/api/v1/session', { body: { username: 'leaver', password: 'Not-the-pass-2026' } });
  expectError(right, 401, 'bad_credentials');
  assert.equal(right.text, wrong.text, 'the right password tells nothing');
  const rec = await poll(async () => (await srv.api('GET', '/api/v1/audit?resource=session&limit=200', { token: auditor }))
    .json.items.find((a) => a.action === 'login_failed' && a.username === 'leaver' && a.record_id === 'disabled'));
  assert.ok(rec, 'the disabled account\'s attempt is audited');
});

test('weak passwords are refused on create and on change, with the rule in the message', async () => {
  const weak = ['0000000000', '          ', 'aaaaaaaaaaaa', 'abcdefghijkl', 'abcdefgh12', 'short-1A'];
  for (const password of weak) {
    const e = expectError(await srv.api('POST', '/api/v1/users', { token: command, body: { username: 'weakling', password,
      role: 'volunteer', scope_node_id: DEMO.grid } }), 422, 'validation_failed', 'password', JSON.stringify(password));
    assert.match(e.message, /密码/);
  }
  const e = expectError(await srv.api('POST', '/api/v1/users', { token: command, body: { username: 'weakling', password: 'abcdefghijkl',
    role: 'volunteer', scope_node_id: DEMO.grid } }), 422, 'validation_failed', 'password');
  assert.match(e.message, /至少 3 类/);
  assert.match(e.message_en, /at least 3 of/);
  const me = (await srv.api('GET', '/api/v1/me', { token: community })).json;
  expectError(await srv.api('PATCH', `/api/v1/users/${me.id}`, { token: community, body: { password: '1111111111' } }),
    422, 'validation_failed', 'password');
  assert.equal((await srv.api('POST', '/api/v1/users', { token: command, body: { username: 'strongling', password: '网格 Strong 2026',
    role: 'volunteer', scope_node_id: DEMO.grid } })).status, 201);
  // The CLI applies the same rule.
  const r = srv.cli(['user', 'passwd', 'volunteer', '--password-stdin'], '0000000000\n');
  assert.equal(r.code, 2);
  assert.match(r.stderr, /password/);
});

test('small input holes: control characters, tags, lng, long queries, %00, bearer in lower case', async () => {
  const me = (await srv.api('GET', '/api/v1/me', { token: community })).json;
  for (const name of ['王\n五', 'tab\there', 'bell\u0007', 'del\u007f']) {
    expectError(await srv.api('PATCH', `/api/v1/users/${me.id}`, { token: community, body: { display_name: name } }),
      422, 'validation_failed', 'display_name', JSON.stringify(name));
  }
  const tags = expectError(await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name: '标签', tags: '低保' } }),
    422, 'validation_failed', 'tags');
  assert.match(tags.message_en, /array/);
  assert.doesNotMatch(tags.message_en, /a string/);
  const lng = expectError(await srv.api('POST', '/api/v1/dwells', { token: command, body: { phone: '13912345678', lat: 33.7, lng: 500 } }),
    422, 'validation_failed', 'lng');
  assert.match(lng.message_en, /longitude/);
  expectError(await srv.api('POST', '/api/v1/dwells', { token: command, body: { phone: '13912345678', lat: 95, lng: 119.8 } }),
    422, 'validation_failed', 'lat');
  // The URL limit counts the query.
  expectError(await srv.api('GET', `/api/v1/grids?q=${'x'.repeat(4000)}`, { token: command }), 413, 'too_large');
  expectError(await srv.api('GET', `/healthz?pad=${'x'.repeat(3000)}`), 413, 'too_large');
  // %00 does not cut a path short.
  const nul = await rawHttp(`GET /api/v1/me%00/anything HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${command}\r\nConnection: close\r\n\r\n`);
  assert.match(nul, /^HTTP\/1\.1 400/, nul);
  assert.match(nul, /"code":"bad_request"/);
  expectError(await srv.api('GET', `/api/v1/grids?q=a%00b`, { token: command }), 400, 'bad_request');
  // The auth scheme is case-insensitive (RFC 9110).
  for (const scheme of ['bearer', 'BEARER', 'Bearer  ']) {
    const r = await srv.api('GET', '/api/v1/me', { headers: { authorization: `${scheme} ${command}` } });
    assert.equal(r.status, 200, scheme);
  }
  expectError(await srv.api('GET', '/api/v1/me', { headers: { authorization: `Basic ${command}` } }), 401, 'unauthorized');
});

test('/metrics: not public; a system administrator or the scraper token; async 202 counted as 202', async () => {
  expectError(await srv.api('GET', '/metrics'), 401, 'unauthorized');
  expectError(await srv.api('GET', '/metrics', { token: command }), 403, 'forbidden');
  expectError(await srv.api('GET', '/metrics', { headers: { authorization: 'Bearer wrong-token-of-the-same-length-01' } }), 401, 'unauthorized');
  assert.equal((await srv.api('GET', '/metrics', { token: admin })).status, 200);
  const csv = '姓名,手机号,网格编码\n异步人,,\n';
  const job = await srv.api('POST', '/api/v1/persons/import?async=1&dry_run=1', { token: community, raw: Buffer.from(csv),
    headers: { 'content-type': 'text/csv' } });
  assert.equal(job.status, 202, job.text);
  const m = await srv.api('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(m.status, 200);
  assert.match(m.text, /route="\/api\/v1\/persons\/import",status="202"\} 1/);
  assert.doesNotMatch(m.text, /status="0"/);
});

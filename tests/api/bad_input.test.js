// Bad input gets a precise error (status, code, the field, a Chinese and an
// English message) and changes nothing.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, DEMO } = require('./helpers');
const { expectError, CJK } = require('./expect');

let srv;
let token; // command
let snapshot;

const JSON_TYPE = { 'content-type': 'application/json' };
const raw = (method, p, text, headers = JSON_TYPE) => srv.api(method, p, { token, raw: text, headers });

// What a failed write must leave alone: the tree, one node, the accounts
// and the write records of the audit trail.
async function state() {
  const all = await srv.api('GET', '/api/v1/grids?limit=1', { token });
  const node = await srv.api('GET', `/api/v1/grids/${DEMO.building}`, { token });
  const users = await srv.api('GET', '/api/v1/users?limit=1000', { token });
  const kids = await srv.api('GET', `/api/v1/grids/${DEMO.grid}/children`, { token });
  return {
    total: all.json.total,
    node: node.json,
    users: users.json.items.map((u) => `${u.id}:${u.version}`),
    children: kids.json.items.map((k) => `${k.id}:${k.version}`),
  };
}

async function assertUnchanged(what) {
  assert.deepEqual(await state(), snapshot, `${what} must change nothing`);
}

before(async () => {
  srv = await startServer();
  token = await srv.login('command');
  snapshot = await state();
});
after(async () => { await srv.stop(); });

// Every JSON write endpoint, with a body that would be valid.
const WRITES = [
  ['POST', '/api/v1/grids', { parent_id: DEMO.grid, kind: 'building', name: '新楼' }],
  ['PATCH', `/api/v1/grids/${DEMO.building}`, { name: '改名' }],
  ['POST', `/api/v1/grids/${DEMO.building}/move`, { parent_id: DEMO.grid }],
  ['PUT', `/api/v1/grids/${DEMO.building}/leaders`, { leaders: [{ user_id: 4, duty: '楼栋长' }] }],
  ['POST', '/api/v1/users', { username: 'newbie', password: 'Newbie-pass-2026', role: 'volunteer', scope_node_id: 4 }],
  ['PATCH', '/api/v1/users/8', { display_name: '新名' }],
];

test('malformed JSON: 400 bad_json naming the byte offset', async () => {
  // [text, first and last byte of the offending token]
  const cases = [
    ['{"parent_id": 4,,}', 16, 17],
    ['{"name": "a', 9, 11],
    ['{"name" "a"}', 8, 11],
    ['{name: 1}', 1, 5],
    ['{"name": "a"} x', 14, 15],
  ];
  for (const [m, p] of WRITES) {
    for (const [text, lo, hi] of cases) {
      const e = expectError(await raw(m, p, text), 400, 'bad_json', null, `${m} ${p} ${text}`);
      const at = Number((e.message_en.match(/byte (\d+)/) || [])[1]);
      assert.ok(at >= lo && at <= hi, `offset ${at} for ${text}: ${e.message_en}`);
      assert.match(e.message, new RegExp(`第 ${at} 字节`));
    }
  }
  await assertUnchanged('malformed JSON');
});

test('JSON that is not an object, has duplicate keys or invalid UTF-8: 400 bad_json', async () => {
  const bodies = ['[1,2]', '"text"', '42', 'null', 'true', '[]', '{"name":"a","name":"b"}'];
  for (const [m, p] of WRITES) {
    for (const text of bodies) expectError(await raw(m, p, text), 400, 'bad_json', undefined, `${m} ${p} ${text}`);
    const bad = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    expectError(await raw(m, p, bad), 400, 'bad_json', undefined, `${m} ${p} invalid UTF-8`);
  }
  expectError(await srv.api('POST', '/api/v1/session', { raw: '[]', headers: JSON_TYPE }), 400, 'bad_json');
  await assertUnchanged('non-object JSON');
});

test('JSON nested deeper than 16 levels: 400 bad_json naming the byte, nothing changed', async () => {
  const deep = '{"name":' + '['.repeat(16) + '1' + ']'.repeat(16) + '}'; // 17 levels
  // brackets in a string do not nest (the member is unknown, so this too changes nothing)
  const inString = '{"no_such_field":"' + '['.repeat(40) + '"}';
  for (const [m, p] of WRITES) {
    const e = expectError(await raw(m, p, deep), 400, 'bad_json', null, `${m} ${p} deep`);
    assert.match(e.message_en, /deeper than 16 levels at byte 23/);
    assert.match(e.message, /嵌套超过 16 层/);
    const r = await raw(m, p, inString);
    assert.equal(r.status, 422, `${m} ${p}: ${r.text}`);
    assert.ok(!/deeper than/.test(r.text), `${m} ${p}: ${r.text}`);
  }
  await assertUnchanged('deep JSON');
});

test('a body that is not JSON: 415', async () => {
  const types = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml'];
  for (const [m, p, body] of WRITES) {
    for (const type of types) {
      const r = await raw(m, p, JSON.stringify(body), { 'content-type': type });
      expectError(r, 415, 'unsupported_media', undefined, `${m} ${p} ${type}`);
    }
  }
  expectError(await srv.api('POST', '/api/v1/session', { raw: 'username=command', headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
    415, 'unsupported_media');
  await assertUnchanged('wrong content type');
  // application/json with a charset is JSON.
  const ok = await raw('PATCH', `/api/v1/grids/${DEMO.building}`, JSON.stringify({ name: snapshot.node.name }),
    { 'content-type': 'application/json; charset=utf-8' });
  assert.equal(ok.status, 200, ok.text);
  snapshot = await state();
});

const NODE = { parent_id: DEMO.grid, kind: 'building', name: '新楼' };
// [body, status, code, field, what]
const CREATE_CASES = [
  [{ ...NODE, colour: 'red' }, 422, 'unknown_field', 'colour', 'an unknown field'],
  [{ ...NODE, id: 77 }, 422, 'unknown_field', 'id', 'an id'],
  [{ ...NODE, path: '/1/' }, 422, 'validation_failed', 'path', 'the path'],
  [{ ...NODE, name: 5 }, 422, 'validation_failed', 'name', 'a number for a name'],
  [{ ...NODE, name: ['楼'] }, 422, 'validation_failed', 'name', 'a list for a name'],
  [{ ...NODE, name: { zh: '楼' } }, 422, 'validation_failed', 'name', 'an object for a name'],
  [{ ...NODE, name: true }, 422, 'validation_failed', 'name', 'a boolean for a name'],
  [{ ...NODE, parent_id: '4' }, 422, 'validation_failed', 'parent_id', 'a text parent id'],
  [{ ...NODE, parent_id: 4.5 }, 422, 'validation_failed', 'parent_id', 'a fractional parent id'],
  [{ ...NODE, kind: 7 }, 422, 'validation_failed', 'kind', 'a number for a kind'],
  [{ ...NODE, code: 123 }, 422, 'validation_failed', 'code', 'a number for a code'],
  [{ ...NODE, geometry: { type: 'Point' } }, 422, 'validation_failed', 'geometry', 'an object for geometry'],
  [{ kind: 'building', name: '新楼' }, 422, 'required', 'parent_id', 'no parent'],
  [{ parent_id: DEMO.grid, name: '新楼' }, 422, 'required', 'kind', 'no kind'],
  [{ parent_id: DEMO.grid, kind: 'building' }, 422, 'required', 'name', 'no name'],
  [{}, 422, 'required', undefined, 'an empty object'],
  [{ ...NODE, name: null }, 422, 'validation_failed', 'name', 'a null name'],
  [{ ...NODE, parent_id: null }, 422, 'validation_failed', 'parent_id', 'a null parent'],
  [{ ...NODE, kind: null }, 422, 'validation_failed', 'kind', 'a null kind'],
  [{ ...NODE, name: '' }, 422, 'validation_failed', 'name', 'an empty name'],
  [{ ...NODE, name: 'x'.repeat(201) }, 422, 'validation_failed', 'name', '201 letters'],
  [{ ...NODE, name: '楼'.repeat(201) }, 422, 'validation_failed', 'name', '201 Chinese characters'],
  [{ ...NODE, name: '一号\u0001楼' }, 422, 'validation_failed', 'name', 'a control character'],
  [{ ...NODE, code: '' }, 422, 'validation_failed', 'code', 'an empty code'],
  [{ ...NODE, code: 'C'.repeat(33) }, 422, 'validation_failed', 'code', 'a 33-character code'],
  [{ ...NODE, geometry: 'g'.repeat(200001) }, 422, 'validation_failed', 'geometry', 'geometry over 200000 characters'],
  [{ ...NODE, parent_id: 0 }, 422, 'validation_failed', 'parent_id', 'parent 0'],
  [{ ...NODE, parent_id: -4 }, 422, 'validation_failed', 'parent_id', 'a negative parent'],
  [{ ...NODE, parent_id: 99999999 }, 404, 'not_found', 'parent_id', 'an unknown parent'],
  [{ ...NODE, kind: 'castle' }, 422, 'validation_failed', 'kind', 'an unknown kind'],
  [{ ...NODE, kind: 'Building' }, 422, 'validation_failed', 'kind', 'a kind in the wrong case'],
];

for (const [body, status, code, field, what] of CREATE_CASES) {
  test(`create a grid node with ${what} → ${status} ${code}`, async () => {
    expectError(await srv.api('POST', '/api/v1/grids', { token, body }), status, code, field, what);
    await assertUnchanged(what);
  });
}

test('the limits themselves are accepted: 200 Chinese characters, a 32-character code', async () => {
  const r = await srv.api('POST', '/api/v1/grids', { token, body: { ...NODE, name: '楼'.repeat(200), code: 'C'.repeat(32) } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.name, '楼'.repeat(200));
  assert.equal((await srv.api('DELETE', `/api/v1/grids/${r.json.id}`, { token })).status, 204);
  await assertUnchanged('create and delete');
});

test('patch with bad fields: 422 naming the field, the node unchanged', async () => {
  const cases = [
    [{ colour: 'red' }, 'unknown_field', 'colour'],
    [{ name: 5 }, 'validation_failed', 'name'],
    [{ name: null }, 'validation_failed', 'name'],
    [{ name: 'x'.repeat(201) }, 'validation_failed', 'name'],
    [{ name: '新名', kind: 'grid' }, 'validation_failed', 'kind'],
    [{ name: '新名', parent_id: DEMO.street }, 'validation_failed', 'parent_id'],
    [{ name: '新名', version: 1 }, 'unknown_field', 'version'],
  ];
  for (const [body, code, field] of cases) {
    expectError(await srv.api('PATCH', `/api/v1/grids/${DEMO.building}`, { token, body }), 422, code, field, JSON.stringify(body).slice(0, 60));
  }
  expectError(await srv.api('PATCH', `/api/v1/grids/${DEMO.building}`, { token, body: { name: '新名' }, headers: { 'if-match': 'abc' } }),
    422, 'validation_failed', 'If-Match');
  await assertUnchanged('bad patches');
});

test('bodies over 16 KiB before sign-in and over 1 MiB after: 413', async () => {
  const big = JSON.stringify({ username: 'command', password: 'p'.repeat(17 * 1024) });
  expectError(await srv.api('POST', '/api/v1/session', { raw: big, headers: JSON_TYPE }), 413, 'too_large');
  // Just under 16 KiB is read (and refused for what it says, not for its size).
  const under = JSON.stringify({ username: 'command', password: 'p'.repeat(15 * 1024) });
  const u = await srv.api('POST', '/api/v1/session', { raw: under, headers: JSON_TYPE });
  assert.notEqual(u.status, 413, u.text);
  // Signed in, a 1 MiB + 1 byte body is too large for every write endpoint.
  for (const [m, p] of WRITES) {
    const pad = 1024 * 1024 + 1 - '{"name":""}'.length;
    const body = `{"name":"${'x'.repeat(pad)}"}`;
    assert.equal(Buffer.byteLength(body), 1024 * 1024 + 1);
    expectError(await raw(m, p, body), 413, 'too_large', undefined, `${m} ${p}`);
  }
  // A body just under 1 MiB is read; the field limit answers.
  const geo = JSON.stringify({ ...NODE, geometry: 'g'.repeat(1000 * 1000) });
  expectError(await raw('POST', '/api/v1/grids', geo), 422, 'validation_failed', 'geometry');
  await assertUnchanged('oversized bodies');
});

test('list query parameters: bad limit, cursor, filters and unknown names are 400 bad_query', async () => {
  const lists = ['/api/v1/grids', '/api/v1/users'];
  for (const base of lists) {
    for (const limit of ['0', 'abc', '5000', '-1', '1.5', '', '1001']) {
      expectError(await srv.api('GET', `${base}?limit=${limit}`, { token }), 400, 'bad_query', 'limit', `${base} limit=${limit}`);
    }
    expectError(await srv.api('GET', `${base}?cursor=abc`, { token }), 400, 'bad_query', 'cursor', `${base} cursor`);
    expectError(await srv.api('GET', `${base}?cursor=-5`, { token }), 400, 'bad_query', 'cursor', `${base} cursor`);
  }
  for (const [q, field] of [['colour=red', 'colour'], ['grid=abc', 'grid'], ['grid=0', 'grid'], ['parent_id=abc', 'parent_id'],
    ['name=x', 'name'], ['path=/1/', 'path'], ['geometry=x', 'geometry'], ['limit=10&sort=name', 'sort']]) {
    expectError(await srv.api('GET', `/api/v1/grids?${q}`, { token }), 400, 'bad_query', field, q.slice(0, 40));
  }
  // A query longer than the URL limit is refused before it is read (the limit counts the query).
  expectError(await srv.api('GET', `/api/v1/grids?q=${'x'.repeat(4097)}`, { token }), 413, 'too_large', undefined, 'a 4097-byte q');
  // The documented limits themselves are fine.
  for (const q of ['limit=1', 'limit=1000', 'kind=grid', 'code=320923001', 'parent_id=3', 'q=%E9%98%9C', 'grid=4']) {
    const r = await srv.api('GET', `/api/v1/grids?${q}`, { token });
    assert.equal(r.status, 200, `${q}: ${r.text}`);
  }
  const one = await srv.api('GET', '/api/v1/grids?code=320923001', { token });
  assert.deepEqual(one.json.items.map((i) => i.id), [DEMO.street]);
});

test('bad headers: Idempotency-Key too long or empty', async () => {
  for (const key of ['k'.repeat(129)]) {
    const r = await srv.api('POST', '/api/v1/grids', { token, body: NODE, headers: { 'idempotency-key': key } });
    expectError(r, 422, 'validation_failed', 'Idempotency-Key');
  }
  await assertUnchanged('a bad Idempotency-Key');
});

test('sign-in with missing or wrong-typed fields names the field', async () => {
  const cases = [
    [{ password: 'x' }, 422, 'required', 'username'],
    [{ username: 'command' }, 422, 'required', 'password'],
    [{ username: 5, password: 'x' }, 422, 'required', 'username'],
    [{ username: 'command', password: 'x', otp: '1' }, 422, 'unknown_field', 'otp'],
  ];
  for (const [body, status, code, field] of cases) {
    expectError(await srv.api('POST', '/api/v1/session', { body }), status, code, field, JSON.stringify(body));
  }
});

// The English message must be English, and name the field by its API name.
test('English messages are English and correct', async () => {
  const cases = [
    [{ ...NODE, name: 'x'.repeat(201) }, /name must be 1 to 200 characters/],
    [{ ...NODE, name: null }, /name must not be null/],
    [{ ...NODE, name: 5 }, /name must be a string/],
    [{ ...NODE, parent_id: 0 }, /parent_id must be from 1 to 9223372036854775807/],
    [{ ...NODE, kind: 'castle' }, /kind: 'castle' is not an accepted value/],
    [{ ...NODE, name: 'a\u0001' }, /name contains control characters/],
  ];
  const problems = [];
  for (const [body, want] of cases) {
    const r = await srv.api('POST', '/api/v1/grids', { token, body });
    const en = r.json.error.message_en;
    if (CJK.test(en) || !want.test(en)) problems.push(en);
  }
  const nf = await srv.api('GET', '/api/v1/grids/99999999', { token });
  if (CJK.test(nf.json.error.message_en)) problems.push(nf.json.error.message_en);
  assert.deepEqual(problems, []);
});

test('unknown query parameters on the account and audit lists are 400 bad_query too', async () => {
  // A typo such as ?rol= would otherwise silently list everyone.
  expectError(await srv.api('GET', '/api/v1/users?rol=grid_worker', { token }), 400, 'bad_query', 'rol');
  const auditor = await srv.login('auditor');
  expectError(await srv.api('GET', '/api/v1/audit?resourse=grids', { token: auditor }), 400, 'bad_query', 'resourse');
});

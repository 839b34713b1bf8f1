'use strict';
// The venue door page's calls: a resident without an account scans the QR
// code at the door, sees where she is and leaves her mobile number.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, DEMO } = require('./helpers');
const { expectError, poll } = require('./expect');

const PUBLIC_URL = 'https://wg.example.gov.cn';
let srv, command, community, venue;
const now = () => Math.floor(Date.now() / 1000);

before(async () => {
  srv = await startServer({ public_url: `${PUBLIC_URL}/`, public_requests_per_minute: 40 });
  [command, community] = await Promise.all(['command', 'community'].map((u) => srv.login(u)));
  const v = await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '阜城菜市场', kind: 'market' } });
  assert.equal(v.status, 201, v.text);
  venue = v.json;
});
after(async () => { await srv.stop(); });

const door = (body, headers) => srv.api('POST', '/api/v1/public/scans', { body, headers });

// What a phone camera reads from the printed code.
function decodeQr(png) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-qr-')), 'qr.png');
  fs.writeFileSync(file, png);
  const r = spawnSync('zbarimg', ['--quiet', '--raw', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

async function qrPng(query) {
  const r = await fetch(`${srv.base}/api/v1/venues/${venue.id}/qr.png${query}`, { headers: { authorization: `Bearer ${community}` } });
  return { status: r.status, bytes: Buffer.from(await r.arrayBuffer()) };
}

test('the printed code opens the door page on a phone camera; the staff scanner\'s code is there too', async () => {
  const dflt = await qrPng('');
  assert.equal(dflt.status, 200);
  assert.equal(decodeQr(dflt.bytes), `${PUBLIC_URL}/v/${venue.code}`, 'with public_url set, the link by default');
  assert.equal(decodeQr((await qrPng('?content=url')).bytes), `${PUBLIC_URL}/v/${venue.code}`);
  assert.equal(decodeQr((await qrPng('?content=code')).bytes), `WG-VENUE:${venue.code}`);
  expectError(await srv.api('GET', `/api/v1/venues/${venue.id}/qr.svg?content=page`, { token: community }), 400, 'bad_query', 'content');
  // A staff scanner that reads the link still records the scan.
  const staff = await srv.api('POST', '/api/v1/scans', { token: community, body: { venue_code: `${PUBLIC_URL}/v/${venue.code}`, phone: '13900001111' } });
  assert.equal(staff.status, 201, staff.text);
  assert.equal(staff.json.venue_id, venue.id);
});

test('without public_url the link cannot be made, and the answer says which setting is missing', async () => {
  const bare = await startServer();
  try {
    const token = await bare.login('community');
    const v = await bare.api('POST', '/api/v1/venues', { token, body: { grid_id: DEMO.grid, name: '药店', kind: 'pharmacy' } });
    const r = await bare.api('GET', `/api/v1/venues/${v.json.id}/qr.svg?content=url`, { token });
    expectError(r, 422, 'validation_failed', 'content');
    assert.match(r.json.error.message, /public_url/);
    const code = await bare.api('GET', `/api/v1/venues/${v.json.id}/qr.svg`, { token });
    assert.equal(code.status, 200, 'the staff code by default');
  } finally {
    await bare.stop();
  }
});

test('the door page asks what venue its code names, and learns nothing more', async () => {
  const r = await srv.api('GET', `/api/v1/public/venue?code=${venue.code}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { name: '阜城菜市场', kind: 'market', grid_name: r.json.grid_name });
  assert.ok(r.json.grid_name.length > 0);
  expectError(await srv.api('GET', '/api/v1/public/venue?code=NOSUCHCODE22'), 404, 'not_found', 'code');
  expectError(await srv.api('GET', '/api/v1/public/venue'), 400, 'bad_query', 'code');
  expectError(await srv.api('GET', `/api/v1/public/venue?code=${'A'.repeat(300)}`), 400, 'bad_query', 'code');
});

test('a resident leaves her number: recorded as a scan, found when a case was there', async () => {
  const before = (await srv.api('GET', `/api/v1/venues/${venue.id}/scans?days=1`, { token: community })).json.scans;
  const t0 = now();
  const r = await door({ venue_code: venue.code, phone: '138 1234 5678' });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.venue, '阜城菜市场');
  assert.ok(Math.abs(r.json.t_in - t0) <= 2);
  assert.match(r.json.t_in_at, /\+08:00$/);
  assert.deepEqual(Object.keys(r.json).sort(), ['t_in', 't_in_at', 'venue'], 'no ids to a stranger');
  const after = (await srv.api('GET', `/api/v1/venues/${venue.id}/scans?days=1`, { token: community })).json.scans;
  assert.equal(after, before + 1);
  // The audit trail has the scan, without the number (chained by the audit queue within moments).
  const auditor = await srv.login('auditor');
  const rec = await poll(async () => {
    const audit = await srv.api('GET', '/api/v1/audit?limit=20', { token: auditor });
    return audit.json.items.find((a) => a.action === 'scan' && a.record_id === String(venue.id) && !a.user_id);
  });
  assert.ok(rec, 'audited, by no user');
  assert.doesNotMatch(JSON.stringify(rec), /12345678/);
  // A case who was at the market at the same time finds her as a close contact.
  const p = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name: '门口病例' } });
  const mine = await srv.api('POST', '/api/v1/scans', { token: community,
    body: { venue_code: venue.code, person_id: p.json.id, t_in: t0 - 600, t_out: t0 + 120 } });
  assert.equal(mine.status, 201, mine.text);
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: p.json.id, onset_at: t0 - 3600, preset: 'v9' } });
  const t = await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command });
  assert.equal(t.status, 200, t.text);
  const close = await srv.api('GET', `/api/v1/cases/${c.json.id}/contacts?kind=close`, { token: command });
  assert.ok(close.json.items.some((x) => x.phone && x.phone.endsWith('5678')), JSON.stringify(close.json.items));
});

test('bad input at the door is refused naming the field, and nothing is recorded', async () => {
  const before = (await srv.api('GET', `/api/v1/venues/${venue.id}/scans?days=1`, { token: community })).json.scans;
  expectError(await door({ venue_code: venue.code, phone: '1381234' }), 422, 'validation_failed', 'phone');
  expectError(await door({ venue_code: venue.code, phone: 13812345678 }), 422, 'validation_failed', 'phone');
  expectError(await door({ venue_code: venue.code }), 422, 'required', 'phone');
  expectError(await door({ phone: '13812345678' }), 422, 'required', 'venue_code');
  expectError(await door({ venue_code: 'NOSUCHCODE22', phone: '13812345678' }), 404, 'not_found', 'venue_code');
  expectError(await door({ venue_code: venue.code, phone: '13812345678', person_id: 1 }), 422, 'unknown_field', 'person_id');
  expectError(await door({ venue_code: venue.code, phone: '13812345678', t_in: 1 }), 422, 'unknown_field', 't_in');
  const bad = await srv.api('POST', '/api/v1/public/scans', { raw: '{"venue_code":', headers: { 'content-type': 'application/json' } });
  assert.equal(bad.status, 400);
  const after = (await srv.api('GET', `/api/v1/venues/${venue.id}/scans?days=1`, { token: community })).json.scans;
  assert.equal(after, before);
});

test('one address may call the door at most public_requests_per_minute times a minute; signed-in work is not limited', async () => {
  const limited = await startServer({ public_requests_per_minute: 3 });
  try {
    const token = await limited.login('community');
    const v = await limited.api('POST', '/api/v1/venues', { token, body: { grid_id: DEMO.grid, name: '小卖部', kind: 'shop' } });
    const codes = [];
    for (let i = 0; i < 5; i++) {
      codes.push((await limited.api('GET', `/api/v1/public/venue?code=${v.json.code}`)).status);
    }
    // The minute may turn during the loop; then the count starts afresh.
    assert.ok(codes.filter((c) => c === 200).length <= 6 && codes.includes(429), codes.join(','));
    const r = await limited.api('POST', '/api/v1/public/scans', { body: { venue_code: v.json.code, phone: '13812345678' } });
    if (r.status === 429) {
      assert.equal(r.json.error.code, 'rate_limited');
      assert.equal(r.headers.get('retry-after'), '60');
      assert.match(r.json.error.message, /频繁/);
    }
    for (let i = 0; i < 10; i++) {
      assert.equal((await limited.api('GET', '/api/v1/venues', { token })).status, 200);
    }
  } finally {
    await limited.stop();
  }
});

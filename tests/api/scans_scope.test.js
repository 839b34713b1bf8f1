// Scans and dwells name only what the caller may see (issue 14, point 2),
// and what is older than the retention is refused at the door (point 7).
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, sql, ADMIN_PASSWORD, DEMO } = require('./helpers');
const { expectError, poll, demoPlaces } = require('./expect');

const now = Math.floor(Date.now() / 1000);
let srv, command, checkpoint, streetCommand, auditor, places, venue, mine, elsewhere;

before(async () => {
  srv = await startServer();
  [command, checkpoint, auditor] = await Promise.all(['command', 'checkpoint', 'auditor'].map((u) => srv.login(u)));
  places = await demoPlaces(srv, command);
  const admin = await srv.login('admin', ADMIN_PASSWORD);
  // A street's command center: traces, but only its own street's people.
  const u = await srv.api('POST', '/api/v1/users', { token: admin, body: { username: 'street-command', password: 'Jiedao-zhihui-2026',
    role: 'command', scope_node_id: DEMO.street } });
  assert.equal(u.status, 201, u.text);
  streetCommand = await srv.login('street-command', 'Jiedao-zhihui-2026');
  const v = await srv.api('POST', '/api/v1/venues', { token: command, body: { grid_id: DEMO.grid, name: '卡口超市', kind: 'market' } });
  venue = v.json;
  const p1 = await srv.api('POST', '/api/v1/persons', { token: command, body: { grid_id: DEMO.grid, name: '本街甲', phone: '13700000001' } });
  const p2 = await srv.api('POST', '/api/v1/persons', { token: command, body: { grid_id: places.otherStreetGrid, name: '外镇乙', phone: '13700000002' } });
  assert.equal(p2.status, 201, p2.text);
  mine = p1.json.id;
  elsewhere = p2.json.id;
});
after(async () => { if (srv) await srv.stop(); });

const scan = (body, token = checkpoint) => srv.api('POST', '/api/v1/scans', { token, body });
const dwell = (body, token = streetCommand) => srv.api('POST', '/api/v1/dwells', { token, body });
// An error's text with the id it names taken out.
const shape = (r) => JSON.stringify(r.json).replace(/\d+/g, 'N');

test('a scan by person id names a person in the caller\'s scope; outside it answers as a missing id', async () => {
  const ok = await scan({ venue_code: venue.code, person_id: mine, t_in: now - 900, t_out: now - 600 });
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.person_id, mine);
  const out = await scan({ venue_code: venue.code, person_id: elsewhere, t_in: now - 900, t_out: now - 600 });
  const missing = await scan({ venue_code: venue.code, person_id: 99999999, t_in: now - 900, t_out: now - 600 });
  expectError(out, 404, 'not_found', 'person_id');
  expectError(missing, 404, 'not_found', 'person_id');
  assert.equal(shape(out), shape(missing), 'no way to tell a person elsewhere from no person');
  // Dwells likewise.
  expectError(await dwell({ person_id: elsewhere, lat: 33.7, lng: 119.8, t_in: now - 900, t_out: now - 600 }), 404, 'not_found', 'person_id');
  assert.equal((await dwell({ person_id: mine, lat: 33.7, lng: 119.8, t_in: now - 900, t_out: now - 600 })).status, 201);
});

// A checkpoint's scans keep the venue and the person's place in memory
// between changes; a change, by the API or behind the server's back, is
// seen by the next scan.
test('a venue or a person moved a moment ago is scanned where it is now', async () => {
  const at = (ago) => ({ venue_code: venue.code, person_id: mine, t_in: now - ago, t_out: now - ago + 300 });
  const move = async (what, id, grid) => {
    const r = await srv.api('PATCH', `/api/v1/${what}/${id}`, { token: command, body: { grid_id: grid } });
    assert.equal(r.status, 200, r.text);
  };
  assert.equal((await scan(at(3600))).status, 201);
  assert.equal((await scan(at(3500))).status, 201, 'the second scan, from memory where anything is kept');
  await move('persons', mine, places.otherStreetGrid);
  expectError(await scan(at(3400)), 404, 'not_found', 'person_id');
  await move('persons', mine, DEMO.grid);
  assert.equal((await scan(at(3300))).status, 201);
  await move('venues', venue.id, places.otherStreetGrid);
  expectError(await scan(at(3200)), 403, 'forbidden', 'venue_code');
  await move('venues', venue.id, DEMO.grid);
  assert.equal((await scan(at(3100))).status, 201);
  // Behind the server's back: SQL moves the venue, then the person.
  const [venuePath, personPath] = [sql(srv.data, `SELECT node_path FROM venues WHERE id = ${venue.id}`),
    sql(srv.data, `SELECT node_path FROM persons WHERE id = ${mine}`)];
  assert.match(venuePath, /^\/1\//);
  sql(srv.data, `UPDATE venues SET node_path = '/1/999999/' WHERE id = ${venue.id}`);
  const refused = await poll(async () => ((await scan(at(3000))).status === 403 ? true : null), 3000);
  assert.ok(refused, 'a venue moved by SQL is out of the checkpoint\'s scope within 3 s');
  sql(srv.data, `UPDATE venues SET node_path = '${venuePath}' WHERE id = ${venue.id}`);
  assert.ok(await poll(async () => ((await scan(at(2900))).status === 201 ? true : null), 3000));
  sql(srv.data, `UPDATE persons SET node_path = '/1/999999/' WHERE id = ${mine}`);
  assert.ok(await poll(async () => ((await scan(at(2800))).status === 404 ? true : null), 3000),
    'a person moved by SQL is out of scope within 3 s');
  sql(srv.data, `UPDATE persons SET node_path = '${personPath}' WHERE id = ${mine}`);
  assert.ok(await poll(async () => ((await scan(at(2700))).status === 201 ? true : null), 3000));
});

test('a scan by phone is kept whoever has the number, and its answer names no id', async () => {
  const answers = [];
  for (const phone of ['13700000001', '13700000002', '13700000003']) {   // here, elsewhere, nobody
    const r = await scan({ venue_code: venue.code, phone, t_in: now - 1800, t_out: now - 1500 });
    assert.equal(r.status, 201, r.text);
    answers.push(r.json);
    const d = await dwell({ phone, lat: 33.7, lng: 119.8, t_in: now - 1800, t_out: now - 1500 });
    assert.equal(d.status, 201, d.text);
    assert.deepEqual([d.json.person_id, d.json.subject_id], [null, null]);
  }
  for (const a of answers) assert.deepEqual([a.person_id, a.subject_id], [null, null], JSON.stringify(a));
  assert.deepEqual(answers[1], answers[2], 'a number registered elsewhere answers as a number known nowhere');
  // Kept and audited all the same: tracing finds the person.
  const recs = await poll(async () => {
    const a = await srv.api('GET', '/api/v1/audit?resource=venues&limit=200', { token: auditor });
    const scans = a.json.items.filter((x) => x.action === 'scan' && x.username === 'checkpoint');
    // Scans close together are gathered into one record that counts them.
    return scans.reduce((n, x) => n + x.events, 0) >= 4 ? scans : null;
  });
  assert.ok(recs);
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: mine, onset_at: now - 60, preset: 'v9' } });
  assert.equal((await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command })).status, 200);
  const contacts = await srv.api('GET', `/api/v1/cases/${c.json.id}/contacts?kind=close&limit=100`, { token: command });
  assert.ok(contacts.json.items.some((x) => x.person_id === elsewhere), contacts.text);
});

test('a scan or dwell that ended before the retention period is refused at the door', async () => {
  const old = now - 29 * 86400;
  const e = expectError(await scan({ venue_code: venue.code, person_id: mine, t_in: old, t_out: old + 600 }), 422, 'validation_failed', 't_out');
  assert.match(e.message, /保留期/);
  assert.match(e.message_en, /retention/);
  expectError(await scan({ venue_code: venue.code, person_id: mine, t_in: old }), 422, 'validation_failed', 't_in');
  expectError(await dwell({ person_id: mine, lat: 33.7, lng: 119.8, t_in: old, t_out: old + 600 }), 422, 'validation_failed', 't_out');
  const recent = now - 27 * 86400;
  assert.equal((await scan({ venue_code: venue.code, person_id: mine, t_in: recent, t_out: recent + 600 })).status, 201);
  const counted = await srv.api('GET', `/api/v1/venues/${venue.id}/scans?days=28`, { token: command });
  assert.equal(counted.status, 200, counted.text);
});

test('scans sent many at once on kept-alive connections: each answered with its own stay, a repeat sent at the same time stored once', async () => {
  const v = await srv.api('POST', '/api/v1/venues', { token: command, body: { grid_id: DEMO.grid, name: '并发卡口', kind: 'checkpoint' } });
  assert.equal(v.status, 201, v.text);
  const before = (await srv.api('GET', `/api/v1/venues/${v.json.id}/scans?days=1`, { token: command })).json.scans;
  // 120 stays of one person, a minute apart; each sent twice at the same moment.
  const stays = Array.from({ length: 120 }, (_, i) => now - 3 * 3600 + i * 60);
  const sends = stays.flatMap((t) => [0, 1].map(() => scan({ venue_code: v.json.code, person_id: mine, t_in: t, t_out: t + 30 })
    .then((r) => ({ t, r }))));
  const answers = await Promise.all(sends);
  for (const { t, r } of answers) {
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.person_id, mine);
    assert.equal(r.json.venue_id, v.json.id);
    assert.equal(r.json.t_in, t, 'the answer is the one of this request');
  }
  for (const t of stays) {
    const pair = answers.filter((a) => a.t === t).map((a) => a.r.json.duplicate).sort();
    assert.deepEqual(pair, [false, true], `the stay at ${t}: stored by one of the two, a repeat for the other`);
  }
  const after = (await srv.api('GET', `/api/v1/venues/${v.json.id}/scans?days=1`, { token: command })).json.scans;
  assert.equal(after - before, stays.length, 'every stay counted once');
});

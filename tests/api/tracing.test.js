'use strict';
// Venues, scans and cases: from a scan at the door to each community's list.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, DEMO } = require('./helpers');
const { expectError } = require('./expect');

let srv, command, community, checkpoint, gridworker, venue, other;
const people = {};
const now = Math.floor(Date.now() / 1000);

before(async () => {
  srv = await startServer();
  [command, community, checkpoint, gridworker] = await Promise.all(
    ['command', 'community', 'checkpoint', 'gridworker'].map((u) => srv.login(u)));
  for (const name of ['病例甲', '同店乙', '同店丙', '错过丁', '次密戊']) {
    const r = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name } });
    assert.equal(r.status, 201, r.text);
    people[name] = r.json.id;
  }
  const v = await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '兴阜超市', kind: 'market' } });
  assert.equal(v.status, 201, v.text);
  venue = v.json;
  const o = await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '兴阜药店', kind: 'pharmacy' } });
  other = o.json;
});
after(async () => { await srv.stop(); });

const scan = (token, body) => srv.api('POST', '/api/v1/scans', { token, body });

test('a venue gets an unguessable code and a printable QR code', async () => {
  assert.match(venue.code, /^[2-9A-HJ-NP-Z]{12}$/);
  const qr = await srv.api('GET', `/api/v1/venues/${venue.id}/qr.svg`, { token: gridworker });
  assert.equal(qr.status, 200);
  assert.match(qr.headers.get('content-type'), /image\/svg\+xml/);
  assert.match(qr.text, /^<svg[^>]*viewBox="0 0 (\d+) \1"/);
  // The PNG: a valid 1-bit image whose pixels are the same modules (finder pattern top left).
  const png = await fetch(`${srv.base}/api/v1/venues/${venue.id}/qr.png`, { headers: { authorization: `Bearer ${gridworker}` } });
  assert.equal(png.status, 200);
  assert.equal(png.headers.get('content-type'), 'image/png');
  const bytes = Buffer.from(await png.arrayBuffer());
  assert.equal(bytes.subarray(0, 8).toString('hex'), '89504e470d0a1a0a');
  const side = bytes.readUInt32BE(16);
  const modules = Number(qr.text.match(/viewBox="0 0 (\d+)/)[1]);
  assert.equal(side, modules * 8);
  const idatLen = bytes.readUInt32BE(33);
  const raw = require('node:zlib').inflateSync(bytes.subarray(41, 41 + idatLen));
  const rowBytes = Math.ceil(side / 8) + 1;
  const pixelDark = (x, y) => ((raw[y * rowBytes + 1 + (x >> 3)] >> (7 - (x % 8))) & 1) === 0;
  assert.equal(pixelDark(4 * 8 + 1, 4 * 8 + 1), true, 'finder pattern corner is dark');
  assert.equal(pixelDark(1, 1), false, 'quiet zone is white');
  expectError(await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: 'x', code: 'MINE' } }),
    422, 'validation_failed', 'code');
});

test('scans at the door: recorded once, refused with the field named when wrong', async () => {
  const stays = [
    ['病例甲', now - 7200, now - 5400],
    ['同店乙', now - 6600, now - 4800],   // overlaps the case
    ['同店丙', now - 5300, now - 4000],   // starts 1 min after the case left: within the 30-min buffer
    ['错过丁', now - 2000, now - 1000],   // more than 30 min after everyone: no contact
  ];
  for (const [name, tin, tout] of stays) {
    const r = await scan(checkpoint, { venue_code: venue.code, person_id: people[name], t_in: tin, t_out: tout });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.duplicate, false);
  }
  // 同店乙 met 次密戊 at another venue after being exposed: a secondary contact.
  assert.equal((await scan(checkpoint, { venue_code: `WG-VENUE:${other.code}`, person_id: people['同店乙'], t_in: now - 4500, t_out: now - 3600 })).status, 201);
  assert.equal((await scan(checkpoint, { venue_code: other.code, person_id: people['次密戊'], t_in: now - 4200, t_out: now - 3300 })).status, 201);
  const again = await scan(checkpoint, { venue_code: venue.code, person_id: people['病例甲'], t_in: now - 7200, t_out: now - 5400 });
  assert.equal(again.status, 201);
  assert.equal(again.json.duplicate, true, 'a resent scan is stored once');

  const counted = await srv.api('GET', `/api/v1/venues/${venue.id}/scans`, { token: community });
  assert.deepEqual(counted.json, { venue_id: venue.id, days: 7, scans: 4 }, 'the resent scan counts once');
  expectError(await srv.api('GET', `/api/v1/venues/${venue.id}/scans?days=90`, { token: community }), 400, 'bad_query', 'days');
  expectError(await scan(checkpoint, { venue_code: 'NOSUCHCODE', person_id: people['病例甲'] }), 422, 'validation_failed', 'venue_code');
  expectError(await scan(checkpoint, { person_id: people['病例甲'] }), 422, 'required', 'venue_code');
  expectError(await scan(checkpoint, { venue_code: venue.code, person_id: 999999 }), 404, 'not_found', 'person_id');
  expectError(await scan(checkpoint, { venue_code: venue.code, person_id: people['病例甲'], t_in: now - 100, t_out: now - 200 }), 422, 'validation_failed', 't_out');
  expectError(await scan(checkpoint, { venue_code: venue.code, person_id: people['病例甲'], t_in: now - 60, t_out: now + 86400 }), 422, 'validation_failed', 't_out');
  expectError(await scan(checkpoint, { venue_code: venue.code, person_id: people['病例甲'], t_in: now - 86000, t_out: now - 100 }), 422, 'validation_failed', 't_out');
  expectError(await scan(checkpoint, { venue_code: venue.code, person_id: people['病例甲'], where: 'x' }), 422, 'unknown_field', 'where');
  expectError(await scan(srv.login && await srv.login('volunteer'), { venue_code: venue.code, person_id: people['病例甲'] }), 403, 'forbidden');
});

test('a grid worker records scans only at venues in her grid', async () => {
  const mine = await scan(gridworker, { venue_code: venue.code, person_id: people['错过丁'], t_in: now - 1500, t_out: now - 1200 });
  assert.equal(mine.status, 201, mine.text);
  const elsewhere = await srv.api('POST', '/api/v1/venues', { token: command, body: { grid_id: DEMO.street, name: '街道办', kind: 'office' } });
  expectError(await scan(gridworker, { venue_code: elsewhere.json.code, person_id: people['错过丁'] }), 403, 'forbidden', 'venue_code');
});

test('a case is traced in one call: close and secondary contacts with their evidence, ranked', async () => {
  expectError(await srv.api('POST', '/api/v1/cases', { token: gridworker, body: { person_id: people['病例甲'], onset_at: now, preset: 'v9' } }), 403, 'forbidden');
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: people['病例甲'], onset_at: now - 3600, preset: 'v9' } });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.json.status, 'open');
  assert.equal(c.json.person_name, '病**', 'the case\'s person, masked as in lists of contacts');
  const listed = await srv.api('GET', '/api/v1/cases?limit=100', { token: command });
  assert.equal(listed.json.items.find((x) => x.id === c.json.id).person_name, '病**');
  const t = await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.close, 2);
  assert.equal(t.json.secondary, 1);
  assert.equal(t.json.located, 3);
  const close = await srv.api('GET', `/api/v1/cases/${c.json.id}/contacts?kind=close`, { token: command });
  assert.deepEqual(close.json.items.map((x) => x.person_id), [people['同店乙'], people['同店丙']], 'ranked by overlap');
  const first = close.json.items[0];
  assert.equal(first.venue, '兴阜超市');
  assert.equal(first.name, '同**');
  // The store keeps minutes (in rounded down, out rounded up): 20 minutes and the rounding.
  assert.equal(first.overlap_min, Math.ceil((now - 5400) / 60) - Math.floor((now - 6600) / 60));
  const start = now - 7200 - ((now - 7200) % 60);
  assert.deepEqual(first.source_stay, { in: start, in_at: first.source_stay.in_at, out: first.source_stay.out,
    out_at: first.source_stay.out_at });
  assert.equal(Date.parse(first.source_stay.in_at) / 1000, start, 'a time and its local-time twin');
  assert.match(first.source_stay.in_at, /\+08:00$/);
  assert.equal(close.json.items[1].overlap_min, 0, 'met within the buffer only');
  const second = await srv.api('GET', `/api/v1/cases/${c.json.id}/contacts?kind=secondary`, { token: command });
  assert.equal(second.json.items[0].person_id, people['次密戊']);
  assert.equal(second.json.items[0].via_person_id, people['同店乙'], 'the close contact it came through');
  const applied = await srv.api('POST', `/api/v1/cases/${c.json.id}/apply`, { token: command });
  assert.equal(applied.status, 200, applied.text);
  assert.deepEqual(applied.json.communities.map((x) => [x.community_id, x.contacts]), [[DEMO.community, 3]]);
  assert.equal(applied.json.not_located, 0);
  const after = await srv.api('GET', `/api/v1/cases/${c.json.id}`, { token: command });
  assert.equal(after.json.status, 'applied');
  // The community now works from its list; a grid worker sees hers.
  const handed = await srv.api('GET', `/api/v1/contacts?case_id=${c.json.id}`, { token: community });
  assert.equal(handed.status, 200, handed.text);
  assert.deepEqual(handed.json.items.map((x) => [x.kind, x.person_id]).sort(),
    [['close', people['同店乙']], ['close', people['同店丙']], ['secondary', people['次密戊']]].sort());
  assert.ok(handed.json.items.every((x) => x.community_id === DEMO.community && x.case_id === c.json.id));
  const page = await srv.api('GET', `/api/v1/contacts?case_id=${c.json.id}&limit=2`, { token: gridworker });
  assert.equal(page.json.items.length, 2);
  const rest = await srv.api('GET', `/api/v1/contacts?case_id=${c.json.id}&limit=2&cursor=${page.json.next_cursor}`, { token: gridworker });
  assert.equal(rest.json.items.length, 1);
  assert.equal(rest.json.next_cursor, null);
  const sheet = await srv.api('GET', `/api/v1/contacts/export?case_id=${c.json.id}`, { token: community });
  assert.equal(sheet.status, 200, sheet.text);
  assert.match(sheet.headers.get('content-type'), /text\/csv/);
  const lines = sheet.text.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.equal(lines.length, 4, 'a header and the three contacts');
  assert.match(lines[0], /^病例编号,类别,排序,人员编号,姓名/);
  assert.ok(lines.some((l) => /,密接,1,/.test(l) && l.includes('兴阜超市') && l.includes('同**')));
  assert.ok(lines.some((l) => l.includes(',次密接,')));
  const beijing = new Date((now - 7200 + 8 * 3600) * 1000).toISOString().slice(0, 10);
  assert.ok(lines[1].includes(beijing), 'times in Beijing time');
  const xlsx = await fetch(`${srv.base}/api/v1/contacts/export?format=xlsx`, { headers: { authorization: `Bearer ${community}` } });
  assert.equal(xlsx.status, 200);
  const bytes = Buffer.from(await xlsx.arrayBuffer());
  assert.equal(bytes.subarray(0, 2).toString(), 'PK', 'an xlsx is a zip');
  expectError(await srv.api('GET', '/api/v1/contacts/export?format=pdf', { token: community }), 400, 'bad_query', 'format');
  expectError(await srv.api('GET', '/api/v1/contacts', { token: await srv.login('volunteer') }), 403, 'forbidden');
  expectError(await srv.api('GET', '/api/v1/contacts?case=1', { token: community }), 400, 'bad_query', 'case');
  expectError(await srv.api('GET', `/api/v1/cases/${c.json.id}/contacts?kind=nearby`, { token: command }), 400, 'bad_query', 'kind');
  expectError(await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command, body: { buffer_min: -1 } }), 422, 'validation_failed', 'buffer_min');
});

test('an index person without scans gives empty lists, not an error', async () => {
  const p = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name: '未扫码己' } });
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: p.json.id, onset_at: now - 3600, preset: 'twenty' } });
  assert.equal(c.status, 201, c.text);
  const t = await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.close + t.json.secondary + t.json.companions, 0);
});

test('location records give spatiotemporal companions: the same 800 m cell for more than 10 minutes where one of them lives or works (more than 30 hours in 14 days)', async () => {
  const names = ['伴随甲', '伴随乙', '远处丙', '偶遇丁'];
  const ids = {};
  for (const name of names) {
    const r = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name } });
    ids[name] = r.json.id;
  }
  const dwell = (body) => srv.api('POST', '/api/v1/dwells', { token: command, body });
  const spot = { lat: 33.759, lng: 119.806 };
  assert.equal((await dwell({ person_id: ids['伴随甲'], ...spot, t_in: now - 5000, t_out: now - 3000 })).status, 201);
  // 伴随乙 lives there: more than 30 hours in the cell these two weeks, and 25 minutes beside the case.
  for (const day of [3, 2]) {
    const home = await dwell({ person_id: ids['伴随乙'], ...spot, t_in: now - day * 86400, t_out: now - day * 86400 + 1000 * 60 });
    assert.equal(home.status, 201, home.text);
  }
  const b = await dwell({ person_id: ids['伴随乙'], ...spot, t_in: now - 4500, t_out: now - 3000 });
  assert.equal(b.status, 201, b.text);
  assert.equal(b.json.cell, (await dwell({ person_id: ids['伴随甲'], ...spot, t_in: now - 5000, t_out: now - 3000 })).json.cell);
  // 偶遇丁 passed by for the same 25 minutes and neither lingers there: not a companion.
  assert.equal((await dwell({ person_id: ids['偶遇丁'], ...spot, t_in: now - 4500, t_out: now - 3000 })).status, 201);
  // 30 km away at the same time: another cell
  assert.equal((await dwell({ person_id: ids['远处丙'], lat: 34.03, lng: 119.806, t_in: now - 5000, t_out: now - 3000 })).status, 201);
  expectError(await dwell({ person_id: ids['伴随甲'], lat: 95, lng: 119.8 }), 422, 'validation_failed', 'lat');
  expectError(await dwell({ person_id: ids['伴随甲'], lng: 119.8 }), 422, 'required', 'lat');
  expectError(await dwell({ person_id: ids['伴随甲'], lat: 33.7, lng: 119.8, speed: 3 }), 422, 'unknown_field', 'speed');
  expectError(await srv.api('POST', '/api/v1/dwells', { token: checkpoint, body: { person_id: 1, lat: 33.7, lng: 119.8 } }), 403, 'forbidden');
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: ids['伴随甲'], onset_at: now - 1000, preset: 'twenty' } });
  const t = await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.companions, 1);
  const comp = await srv.api('GET', `/api/v1/cases/${c.json.id}/contacts?kind=companion`, { token: command });
  assert.deepEqual(comp.json.items.map((x) => x.person_id), [ids['伴随乙']]);
  assert.ok(comp.json.items[0].overlap_min >= 25);
});

test('a night of cases is traced in one run, all or nothing', async () => {
  const mk = async (name) => (await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name } })).json.id;
  const a = await mk('夜间病例一'), b = await mk('夜间病例二'), met = await mk('同场所庚');
  for (const [p, tin] of [[a, now - 9000], [b, now - 9000], [met, now - 8800]])
    assert.equal((await scan(checkpoint, { venue_code: other.code, person_id: p, t_in: tin, t_out: tin + 1200 })).status, 201);
  const cases = [];
  for (const p of [a, b]) {
    const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: p, onset_at: now - 3600, preset: 'v9' } });
    cases.push(c.json.id);
  }
  const r = await srv.api('POST', '/api/v1/cases/trace', { token: command, body: { case_ids: cases, buffer_min: 15 } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.cases.map((x) => x.case_id), cases);
  for (const x of r.json.cases) assert.ok(x.close >= 2, JSON.stringify(x));   // the other case and 同场所庚
  assert.equal(r.json.close, r.json.cases.reduce((s, x) => s + x.close, 0));
  const one = await srv.api('GET', `/api/v1/cases/${cases[0]}/contacts?kind=close`, { token: command });
  assert.ok(one.json.items.some((x) => x.person_id === met));
  // one unknown case: nothing of the run is kept
  const before = (await srv.api('GET', `/api/v1/cases/${cases[1]}`, { token: command })).json.version;
  const bad = await srv.api('POST', '/api/v1/cases/trace', { token: command, body: { case_ids: [cases[1], 99999999] } });
  expectError(bad, 404, 'not_found', 'case_ids[1]');
  assert.equal((await srv.api('GET', `/api/v1/cases/${cases[1]}`, { token: command })).json.version, before);
  expectError(await srv.api('POST', '/api/v1/cases/trace', { token: command, body: { case_ids: [] } }), 422, 'validation_failed', 'case_ids');
  expectError(await srv.api('POST', '/api/v1/cases/trace', { token: command, body: { case_ids: [1], depth: 2 } }), 422, 'unknown_field', 'depth');
});

test('handed-over contacts move with their grid: after a subtree move they are in the new place\'s scope only', async () => {
  const list = async (token) => (await srv.api('GET', '/api/v1/contacts?limit=1000', { token })).json.items;
  const ids = (items) => items.map((x) => x.id).sort((a, b) => a - b);
  const before = await list(gridworker);
  assert.ok(before.length >= 3, 'the earlier tests handed contacts over');
  const dest = await srv.api('POST', '/api/v1/grids', { token: command, body: { parent_id: DEMO.street, kind: 'community', name: '接收社区' } });
  assert.equal(dest.status, 201, dest.text);
  const moved = await srv.api('POST', `/api/v1/grids/${DEMO.grid}/move`, { token: command, body: { parent_id: dest.json.id } });
  assert.equal(moved.status, 200, moved.text);
  const after = await list(gridworker);
  assert.deepEqual(ids(after), ids(before), 'the grid worker keeps her list');
  for (const x of after) assert.ok(x.node_path.startsWith(moved.json.path), x.node_path);
  const mine = new Set(ids(before));
  assert.ok((await list(community)).every((x) => !mine.has(x.id)), 'the old community no longer sees them');
  const all = ids(await list(command));
  assert.ok(ids(before).every((id) => all.includes(id)), 'the command center still sees them');
  const sheet = await srv.api('GET', '/api/v1/contacts/export', { token: gridworker });
  assert.equal(sheet.text.replace(/^\ufeff/, '').trim().split('\r\n').length, before.length + 1);
});

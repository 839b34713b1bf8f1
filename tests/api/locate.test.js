'use strict';
// Contacts known only by a phone number, and the queue of contacts "apply"
// could not place: from a visitor's scan to the community's list.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { startServer, DEMO, STORE } = require('./helpers');
const { expectError, poll, demoPlaces } = require('./expect');

const FIRST_SUBJECT = 2 ** 31;
const now = Math.floor(Date.now() / 1000);
// Numbers nobody in the registry has (yet).
const PHONES = { later: '13800000001', person: '13800000002', community: '13800000003', handed: '13800000004', gone: '13800000005' };
let srv, command, community, checkpoint, auditor, places, venue, index, caseId;
const subjects = {};
const queue = {};

before(async () => {
  srv = await startServer();
  [command, community, checkpoint, auditor] = await Promise.all(
    ['command', 'community', 'checkpoint', 'auditor'].map((u) => srv.login(u)));
  places = await demoPlaces(srv, command);
  const v = await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '兴阜菜场', kind: 'market' } });
  assert.equal(v.status, 201, v.text);
  venue = v.json;
  const p = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name: '病例子' } });
  index = p.json.id;
});
after(async () => { if (srv) await srv.stop(); });

const scan = (body, token = checkpoint) => srv.api('POST', '/api/v1/scans', { token, body });
const resolve = (id, body, token = command) => srv.api('POST', `/api/v1/contacts/unlocated/${id}/resolve`, { token, body });
const person = async (grid, name, phone) => {
  const r = await srv.api('POST', '/api/v1/persons', { token: command, body: { grid_id: grid, name, ...(phone ? { phone } : {}) } });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
};

// A scan by phone names no id in its answer (issue 14, point 2): who the
// number is shows in the case's contacts, to those who trace.
async function contactsOf(caseId) {
  const r = await srv.api('GET', `/api/v1/cases/${caseId}/contacts?kind=close&limit=1000`, { token: command });
  assert.equal(r.status, 200, r.text);
  return r.json.items;
}
const byPhone = (items, phone) => items.filter((x) => x.phone === `${phone.slice(0, 3)}****${phone.slice(7)}`);

test('a phone that belongs to a registry person is that person', async () => {
  const id = await person(DEMO.grid, '手机甲', '13912340001');
  const sick = await person(DEMO.grid, '手机病例');
  assert.equal((await scan({ venue_code: venue.code, person_id: sick, t_in: now - 700, t_out: now - 200 })).status, 201);
  const r = await scan({ venue_code: venue.code, phone: '139-1234-0001', t_in: now - 600, t_out: now - 300 });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual([r.json.person_id, r.json.subject_id], [null, null], 'a phone scan names no id');
  const d = await srv.api('POST', '/api/v1/dwells', { token: command, body: { phone: '13912340001', lat: 33.759, lng: 119.806, t_in: now - 900, t_out: now - 600 } });
  assert.equal(d.status, 201, d.text);
  assert.deepEqual([d.json.person_id, d.json.subject_id], [null, null]);
  // A number two people share names neither: it gets a subject of its own.
  await person(DEMO.grid, '共用乙', '13912340002');
  await person(DEMO.grid, '共用丙', '13912340002');
  const shared = await scan({ venue_code: venue.code, phone: '13912340002', t_in: now - 600, t_out: now - 300 });
  assert.deepEqual([shared.json.person_id, shared.json.subject_id], [null, null]);
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: sick, onset_at: now - 100, preset: 'v9' } });
  assert.equal((await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command })).status, 200);
  const items = await contactsOf(c.json.id);
  assert.ok(items.some((x) => x.person_id === id && x.subject_id === null), JSON.stringify(items));
  const sharedRow = byPhone(items, '13912340002');
  assert.equal(sharedRow.length, 1, JSON.stringify(items));
  assert.equal(sharedRow[0].person_id, null);
  assert.ok(sharedRow[0].subject_id >= FIRST_SUBJECT);
});

test('a scan names a person or a phone, precisely', async () => {
  const e = expectError(await scan({ venue_code: venue.code, phone: '12345' }), 422, 'validation_failed', 'phone');
  assert.match(e.message, /手机号/);
  assert.match(e.message_en, /phone/);
  expectError(await scan({ venue_code: venue.code, phone: 13912340001 }), 422, 'validation_failed', 'phone');
  expectError(await scan({ venue_code: venue.code, phone: '0515-87212345' }), 422, 'validation_failed', 'phone', 'a landline is no mobile');
  const both = expectError(await scan({ venue_code: venue.code, person_id: index, phone: '13800000009' }), 422, 'validation_failed', 'phone');
  assert.match(both.message, /只能提供一个/);
  const neither = expectError(await scan({ venue_code: venue.code }), 422, 'required', 'person_id');
  assert.match(neither.message_en, /person_id or phone/);
  expectError(await scan({ venue_code: venue.code, phone: '13800000009', mobile: 'x' }), 422, 'unknown_field', 'mobile');
  expectError(await scan({ venue_code: venue.code, person_id: FIRST_SUBJECT }), 422, 'validation_failed', 'person_id');
  expectError(await srv.api('POST', '/api/v1/dwells', { token: command, body: { lat: 33.7, lng: 119.8 } }), 422, 'required', 'person_id');
  expectError(await srv.api('POST', '/api/v1/dwells', { token: command, body: { phone: 'x', lat: 33.7, lng: 119.8 } }), 422, 'validation_failed', 'phone');
});

test('unknown phones become subjects: traced, listed as not located, matched at apply once registered', async () => {
  assert.equal((await scan({ venue_code: venue.code, person_id: index, t_in: now - 7200, t_out: now - 5400 })).status, 201);
  for (const phone of Object.values(PHONES)) {
    const r = await scan({ venue_code: venue.code, phone, t_in: now - 6600, t_out: now - 4800 });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual([r.json.person_id, r.json.subject_id], [null, null], r.text);
  }
  assert.equal((await scan({ venue_code: venue.code, phone: PHONES.later, t_in: now - 3000, t_out: now - 2900 })).status, 201);

  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: index, onset_at: now - 3600, preset: 'v9' } });
  caseId = c.json.id;
  const t = await srv.api('POST', `/api/v1/cases/${caseId}/trace`, { token: command });
  assert.equal(t.status, 200, t.text);
  assert.ok(t.json.not_located >= 5, t.text);
  const listed = await srv.api('GET', `/api/v1/cases/${caseId}/contacts?kind=close`, { token: command });
  for (const [key, phone] of Object.entries(PHONES)) {
    const rows = byPhone(listed.json.items, phone);
    assert.equal(new Set(rows.map((x) => x.subject_id)).size, 1, 'one number, one subject');
    assert.ok(rows[0].subject_id >= FIRST_SUBJECT, listed.text);
    subjects[key] = rows[0].subject_id;
  }
  const later = listed.json.items.find((x) => x.subject_id === subjects.later);
  assert.ok(later, listed.text);
  assert.equal(later.person_id, null);
  assert.equal(later.located, false);
  assert.equal(later.phone, '138****0001');

  // Registered after the scan: apply finds the person by the number.
  const registered = await person(DEMO.grid, '后登记丁', PHONES.later);
  const applied = await srv.api('POST', `/api/v1/cases/${caseId}/apply`, { token: command });
  assert.equal(applied.status, 200, applied.text);
  assert.equal(applied.json.not_located, 4);
  const handed = await srv.api('GET', `/api/v1/contacts?case_id=${caseId}`, { token: community });
  const found = handed.json.items.find((x) => x.subject_id === subjects.later);
  assert.ok(found, handed.text);
  assert.equal(found.person_id, registered);
  assert.equal(found.community_id, DEMO.community);
  assert.equal(found.name, '后***');

  const open = await srv.api('GET', `/api/v1/contacts/unlocated?case_id=${caseId}`, { token: command });
  assert.equal(open.status, 200, open.text);
  assert.equal(open.json.items.length, 4);
  for (const item of open.json.items) {
    assert.equal(item.status, 'open');
    assert.equal(item.case_id, caseId);
    assert.equal(item.kind, 'close');
    assert.match(item.phone, /^138\*{4}000\d$/);
    const key = Object.keys(subjects).find((k) => subjects[k] === item.subject_id);
    queue[key] = item.id;
  }
  assert.deepEqual(Object.keys(queue).sort(), ['community', 'gone', 'handed', 'person']);
  const whole = await srv.api('GET', `/api/v1/contacts/unlocated?case_id=${caseId}&reveal=1`, { token: command });
  assert.ok(whole.json.items.some((x) => x.phone === PHONES.handed));
  const r = await poll(async () => (await srv.api('GET', '/api/v1/audit?limit=1000&resource=contact_locates', { token: auditor }))
    .json.items.find((a) => a.action === 'reveal'));
  assert.ok(r, 'the reveal is audited');
  const paged = await srv.api('GET', `/api/v1/contacts/unlocated?case_id=${caseId}&limit=3`, { token: community });
  assert.equal(paged.json.items.length, 3, 'the community sees its case');
  assert.equal(paged.json.next_cursor, 3);
  expectError(await srv.api('GET', '/api/v1/contacts/unlocated?reveal=1', { token: await srv.login('gridworker') }), 403, 'forbidden', 'reveal');
  expectError(await srv.api('GET', '/api/v1/contacts/unlocated', { token: await srv.login('volunteer') }), 403, 'forbidden');
  expectError(await srv.api('GET', '/api/v1/contacts/unlocated?status=lost', { token: command }), 400, 'bad_query', 'status');
  expectError(await srv.api('GET', '/api/v1/contacts/unlocated?phone=1', { token: command }), 400, 'bad_query', 'phone');
});

test('resolving: to a person, to a community, or closed with a note; once', async () => {
  // Known, but registered in another grid of the community without the number.
  const other = await person(places.siblingGrid, '补登戊');
  const p = await resolve(queue.person, { resolution: 'person', person_id: other, note: '电话核实' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.status, 'person');
  assert.equal(p.json.resolved_person_id, other);
  // Known address, not in the registry yet: the community takes it.
  const c = await resolve(queue.community, { resolution: 'community', node_id: DEMO.community }, community);
  assert.equal(c.status, 200, c.text);
  assert.equal(c.json.node_id, DEMO.community);
  const h = await resolve(queue.handed, { resolution: 'handed_over', note: '已推送盐城市协查' });
  assert.equal(h.status, 200, h.text);
  expectError(await resolve(queue.gone, { resolution: 'unreachable' }), 422, 'required', 'note');
  assert.equal((await resolve(queue.gone, { resolution: 'unreachable', note: '空号' })).json.status, 'unreachable');
  const twice = expectError(await resolve(queue.handed, { resolution: 'unreachable', note: 'x' }), 409, 'conflict', 'resolution');
  assert.match(twice.message_en, /already resolved/);

  const handed = await srv.api('GET', `/api/v1/contacts?case_id=${caseId}`, { token: community });
  const bySubject = (s) => handed.json.items.find((x) => x.subject_id === s);
  assert.equal(bySubject(subjects.person).person_id, other);
  assert.equal(bySubject(subjects.community).community_id, DEMO.community);
  assert.equal(bySubject(subjects.community).person_id, null);
  assert.equal(bySubject(subjects.handed), undefined, 'handed over: on nobody\'s list here');
  assert.equal((await srv.api('GET', `/api/v1/contacts/unlocated?case_id=${caseId}`, { token: command })).json.items.length, 0);
  const done = await srv.api('GET', `/api/v1/contacts/unlocated?case_id=${caseId}&status=resolved`, { token: command });
  assert.deepEqual(done.json.items.map((x) => x.status).sort(), ['community', 'handed_over', 'person', 'unreachable']);
  assert.equal(done.json.items.find((x) => x.status === 'handed_over').note, '已推送盐城市协查');
  assert.ok(done.json.items.every((x) => x.resolved_by > 0 && x.resolved_at >= now));
  assert.ok(done.json.items.every((x) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/.test(x.resolved_at_text) && x.created_at_text), "local-time twins");
  const audited = await poll(async () => (await srv.api('GET', '/api/v1/audit?limit=1000&resource=contact_locates', { token: auditor }))
    .json.items.filter((a) => a.action === 'resolve').length === 4);
  assert.ok(audited, 'every resolution is audited');

  // A new trace and apply keep what was resolved.
  assert.equal((await srv.api('POST', `/api/v1/cases/${caseId}/trace`, { token: command })).status, 200);
  const again = await srv.api('POST', `/api/v1/cases/${caseId}/apply`, { token: command });
  assert.equal(again.json.not_located, 2, again.text);
  const back = await srv.api('GET', `/api/v1/contacts?case_id=${caseId}`, { token: community });
  assert.equal(back.json.items.find((x) => x.subject_id === subjects.community).community_id, DEMO.community);
  assert.equal(back.json.items.find((x) => x.subject_id === subjects.person).person_id, other);
  assert.equal((await srv.api('GET', `/api/v1/contacts/unlocated?case_id=${caseId}`, { token: command })).json.items.length, 0);
});

test('resolutions stay inside the caller\'s scope and name the wrong field', async () => {
  // A case in another community with one unknown visitor.
  const ix = await person(places.nearCommunityGrid, '邻社病例');
  const v = await srv.api('POST', '/api/v1/venues', { token: command, body: { grid_id: places.nearCommunityGrid, name: '邻社药店' } });
  assert.equal((await scan({ venue_code: v.json.code, person_id: ix, t_in: now - 7200, t_out: now - 5400 }, command)).status, 201);
  assert.equal((await scan({ venue_code: v.json.code, phone: '13800000011', t_in: now - 7000, t_out: now - 5000 }, command)).status, 201);
  assert.equal((await scan({ venue_code: v.json.code, phone: '13800000012', t_in: now - 7000, t_out: now - 5000 }, command)).status, 201);
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: ix, onset_at: now - 3600, preset: 'v9' } });
  assert.equal((await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command })).status, 200);
  assert.equal((await srv.api('POST', `/api/v1/cases/${c.json.id}/apply`, { token: command })).json.not_located, 2);
  const items = (await srv.api('GET', `/api/v1/contacts/unlocated?case_id=${c.json.id}`, { token: command })).json.items;
  assert.equal(items.length, 2);
  // The community of DEMO sees nothing of that case and cannot resolve it.
  assert.equal((await srv.api('GET', `/api/v1/contacts/unlocated?case_id=${c.json.id}`, { token: community })).json.items.length, 0);
  expectError(await resolve(items[0].id, { resolution: 'community', node_id: DEMO.community }, community), 404, 'not_found');
  expectError(await resolve(99999999, { resolution: 'unreachable', note: 'x' }), 404, 'not_found');

  // A community user cannot send its own case's contact into another community.
  const mine = await scan({ venue_code: venue.code, phone: '13800000013', t_in: now - 7000, t_out: now - 5000 });
  assert.equal(mine.status, 201, mine.text);
  assert.equal((await srv.api('POST', `/api/v1/cases/${caseId}/trace`, { token: command })).status, 200);
  assert.equal((await srv.api('POST', `/api/v1/cases/${caseId}/apply`, { token: command })).json.not_located, 3);
  const open = (await srv.api('GET', `/api/v1/contacts/unlocated?case_id=${caseId}`, { token: community })).json.items;
  assert.equal(open.length, 1);
  const id = open[0].id;
  expectError(await resolve(id, { resolution: 'community', node_id: places.nearCommunity }, community), 404, 'not_found', 'node_id');
  expectError(await resolve(id, { resolution: 'person', person_id: ix }, community), 404, 'not_found', 'person_id');
  expectError(await resolve(id, { resolution: 'community', node_id: DEMO.grid }, community), 422, 'validation_failed', 'node_id');
  expectError(await resolve(id, { resolution: 'community' }, community), 422, 'required', 'node_id');
  expectError(await resolve(id, { resolution: 'community', person_id: index }, community), 422, 'validation_failed', 'person_id');
  expectError(await resolve(id, { resolution: 'lost' }, community), 422, 'validation_failed', 'resolution');
  expectError(await resolve(id, {}, community), 422, 'required', 'resolution');
  expectError(await resolve(id, { resolution: 'unreachable', note: 'x', reason: 'y' }, community), 422, 'unknown_field', 'reason');
  expectError(await resolve(id, { resolution: 'unreachable', note: 'x' }, checkpoint), 403, 'forbidden');
  expectError(await srv.api('POST', `/api/v1/contacts/unlocated/${id}/resolve`, { token: community, body: { resolution: 'unreachable', note: 'x' }, headers: { 'if-match': '7' } }), 412, 'version_mismatch');
  const ok = await resolve(id, { resolution: 'community', node_id: DEMO.community }, community);
  assert.equal(ok.status, 200, ok.text);
  // The command center of the county may place the other case's contact anywhere in the county.
  assert.equal((await resolve(items[0].id, { resolution: 'community', node_id: places.nearCommunity })).status, 200);
});

test('the raw database holds no subject\'s phone in plain text', async () => {
  const numbers = Object.values(PHONES);
  if (STORE === 'postgres') {
    const dump = execFileSync('psql', [srv.data.db, '-At', '-c', 'SELECT row_to_json(s)::text FROM trace_subjects s'], { encoding: 'utf8' });
    assert.ok(dump.length > 0);
    for (const n of numbers) assert.ok(!dump.includes(n), n);
  } else {
    for (const f of ['wangge.db', 'wangge.db-wal']) {
      const file = path.join(srv.dir, f);
      if (!fs.existsSync(file)) continue;
      const bytes = fs.readFileSync(file);
      for (const n of numbers) assert.equal(bytes.indexOf(n), -1, `${n} in ${f}`);
    }
  }
});

test('key rotation re-encrypts the subjects\' phones too', async () => {
  await srv.stop();
  const out = srv.cli(['keys', 'rotate']);
  assert.equal(out.code, 0, out.stderr);
  // Only the new key is left: every phone must have been re-encrypted with it.
  fs.unlinkSync(path.join(srv.dir, 'keys', 'field.1.key'));
  srv = await startServer({}, srv.data);
  command = await srv.login('command');
  const r = await srv.api('GET', `/api/v1/contacts/unlocated?case_id=${caseId}&status=all&reveal=1`, { token: command });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.items.some((x) => x.phone === PHONES.gone), r.text);
  assert.ok(r.json.items.every((x) => /^1\d{10}$/.test(x.phone)), r.text);
});

test('one person scanned by phone before registering and by id after is handed over once, the stronger row kept', async () => {
  const v = await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '兴阜面馆', kind: 'restaurant' } });
  assert.equal(v.status, 201, v.text);
  const at = (body) => scan({ venue_code: v.json.code, ...body });
  const sick = await person(DEMO.grid, '病例丑');
  assert.equal((await at({ person_id: sick, t_in: now - 7200, t_out: now - 5400 })).status, 201);
  const phoned = await at({ phone: '13800000009', t_in: now - 6600, t_out: now - 6300 });
  assert.equal(phoned.status, 201, phoned.text);
  const who = await person(DEMO.grid, '两号寅', '13800000009');
  assert.equal((await at({ person_id: who, t_in: now - 7000, t_out: now - 5500 })).json.person_id, who);
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: sick, onset_at: now - 3600, preset: 'v9' } });
  assert.equal((await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command })).status, 200);
  const applied = await srv.api('POST', `/api/v1/cases/${c.json.id}/apply`, { token: command });
  assert.equal(applied.status, 200, applied.text);
  assert.equal(applied.json.merged, 1);
  assert.deepEqual(applied.json.communities.map((x) => x.contacts), [1]);
  const handed = await srv.api('GET', `/api/v1/contacts?case_id=${c.json.id}`, { token: community });
  assert.deepEqual(handed.json.items.map((x) => [x.person_id, x.subject_id]), [[who, null]], 'once, by the row with the longer exposure');
  const rows = await srv.api('GET', `/api/v1/cases/${c.json.id}/contacts?kind=close`, { token: command });
  const bySubject = rows.json.items.find((x) => x.subject_id >= FIRST_SUBJECT);
  assert.equal(bySubject.person_id, who, 'the phone row is kept as evidence, matched to the person');
  assert.equal(bySubject.duplicate, true);
  assert.equal(rows.json.items.find((x) => x.subject_id === null).duplicate, false);
  const sheet = await srv.api('GET', `/api/v1/contacts/export?case_id=${c.json.id}`, { token: community });
  assert.equal(sheet.text.replace(/^\ufeff/, '').trim().split('\r\n').length, 2, 'a header and the one person');
});

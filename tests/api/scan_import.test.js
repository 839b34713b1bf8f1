'use strict';
// The health-code platform's daily file of scans, sent over HTTP: checked
// whole first (one bad record and nothing is stored, its row named), then
// stored at once, audited as one record; as a job for a big file.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, DEMO } = require('./helpers');
const { expectError, poll } = require('./expect');

let srv, command, community, venue, other;
const people = [];
const now = Math.floor(Date.now() / 1000);

before(async () => {
  srv = await startServer();
  [command, community] = await Promise.all(['command', 'community'].map((u) => srv.login(u)));
  for (const name of ['导入甲', '导入乙', '导入丙', '导入丁']) {
    const r = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name } });
    assert.equal(r.status, 201, r.text);
    people.push(r.json.id);
  }
  venue = (await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '导入超市', kind: 'market' } })).json;
  other = (await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '导入药店', kind: 'pharmacy' } })).json;
});
after(async () => { await srv.stop(); });

const upload = (csv, query = '', token = command) => srv.api('POST', `/api/v1/scans/import${query}`,
  { token, raw: Buffer.from(csv), headers: { 'content-type': 'text/csv' } });
const count = async (v) => (await srv.api('GET', `/api/v1/venues/${v.id}/scans?days=2`, { token: command })).json.scans;

function scansCsv() {
  const [a, b, c, d] = people;
  return 'person,venue,t_in,t_out\n'
    + `${a},${venue.id},${now - 7200},${now - 5400}\n`
    + `${b},${venue.id},${now - 6600},${now - 4800}\n`
    + `${c},${other.id},${now - 7000},${now - 6000}\n`
    + `${d},${venue.id},${now - 3000},${now - 2000}\n`;
}

test('a day\'s file of scans: checked, stored, traced; sent again it adds nothing', async () => {
  const dry = await upload(scansCsv(), '?dry_run=1');
  assert.equal(dry.status, 200, dry.text);
  assert.deepEqual(dry.json, { kind: 'scan', rows: 4, added: 0, duplicates: 0, dry_run: true });
  assert.equal(await count(venue), 0, 'a dry run stores nothing');
  const r = await upload(scansCsv());
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.json, { kind: 'scan', rows: 4, added: 4, duplicates: 0, dry_run: false });
  assert.equal(await count(venue), 3);
  assert.equal(await count(other), 1);
  const again = await upload(scansCsv());
  assert.equal(again.json.added, 0);
  assert.equal(again.json.duplicates, 4);
  assert.equal(await count(venue), 3, 'stored once');
  // The file is traced as live scans are.
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: people[0], onset_at: now - 3600, preset: 'v9' } });
  const t = await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command });
  assert.equal(t.status, 200, t.text);
  const close = await srv.api('GET', `/api/v1/cases/${c.json.id}/contacts?kind=close`, { token: command });
  assert.deepEqual(close.json.items.map((x) => x.person_id), [people[1]]);
  // One audit record for the file, with its digest.
  const auditor = await srv.login('auditor');
  const rec = await poll(async () => (await srv.api('GET', '/api/v1/audit?resource=scans&limit=10', { token: auditor }))
    .json.items.find((a) => a.action === 'import' && a.record_id === '4'));
  assert.ok(rec, 'the import is audited, with how many it added');
});

test('one bad record and nothing is stored, the answer naming its row', async () => {
  const before = await count(venue);
  const bad = [
    [`person,venue,t_in,t_out\n${people[0]},${venue.id},${now - 600},${now - 300}\n${people[1]},999999,${now - 600},${now - 300}\n`, /第 3 行.*场所 999999/],
    [`${people[0]},${venue.id},${now - 600},${now - 300}\n888888,${venue.id},${now - 600},${now - 300}\n`, /第 2 行.*人员 888888 未登记/],
    [`person,venue,t_in,t_out\n${people[0]},${venue.id},${now - 600},${now - 300}\n${people[1]},${venue.id},${now - 9 * 3600},${now - 300}\n`, /第 3 行.*停留时间超过上限/],
    [`person,venue,t_in,t_out\n${people[0]},${venue.id},abc,${now}\n`, /第 2 行/],
    [`person,venue,t_in,t_out\n${people[0]},${venue.id},${now - 300},${now - 600}\n`, /第 2 行/],
  ];
  for (const [csv, message] of bad) {
    const r = await upload(csv);
    expectError(r, 422, 'validation_failed', undefined, csv);
    assert.match(r.json.error.message, message, r.json.error.message);
    assert.match(r.json.error.message, /未导入任何记录/);
    assert.match(r.json.error.message_en, /nothing was imported/);
  }
  expectError(await upload(''), 422, 'validation_failed', 'file');
  assert.equal(await count(venue), before, 'nothing stored');
  expectError(await upload(scansCsv(), '?dryrun=1'), 400, 'bad_query', 'dryrun');
  expectError(await upload(scansCsv(), '', community), 403, 'forbidden');
  const plain = await srv.api('POST', '/api/v1/scans/import', { token: command, raw: Buffer.from(scansCsv()), headers: { 'content-type': 'text/plain' } });
  expectError(plain, 415, 'unsupported_media', 'Content-Type');
});

test('location records (five columns) and a big file as a job', async () => {
  const cells = `person,lat,lng,t_in,t_out\n${people[2]},33.76,119.80,${now - 4000},${now - 3000}\n`;
  const r = await upload(cells);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.kind, 'cell');
  assert.equal(r.json.added, 1);
  const rows = [];
  for (let i = 0; i < 2000; i++) rows.push(`${people[i % 4]},${venue.id},${now - 86400 + i * 30},${now - 86400 + i * 30 + 600}`);
  const job = await upload(rows.join('\n') + '\n', '?async=1');
  assert.equal(job.status, 202, job.text);
  const done = await poll(async () => {
    const j = await srv.api('GET', `/api/v1/jobs/${job.json.id}`, { token: command });
    return j.json.status !== 'running' && j.json;
  }, 10000);
  assert.equal(done.status, 'done', JSON.stringify(done));
  assert.equal(done.http_status, 201);
  assert.equal(done.result.rows, 2000);
  assert.ok(done.result.added > 0);
});

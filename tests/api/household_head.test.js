'use strict';
// The head of a household (户主): named by a roster's 与户主关系 column, and
// only ever one of the household's own members.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, DEMO } = require('./helpers');
const { expectError } = require('./expect');

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
function idNumber(birth, seq) {
  const body = `320923${birth}${String(seq).padStart(3, '0')}`;
  const sum = [...body].reduce((s, d, i) => s + Number(d) * WEIGHTS[i], 0);
  return body + '10X98765432'[sum % 11];
}
const GRID1 = '32092300100100000001';
const ROSTER = [
  '姓名,身份证号,与户主关系,现住址,网格编码',
  `周建国,${idNumber('19600101', 11)},户主,墩北1组1号,${GRID1}`,
  `周丽,${idNumber('19620202', 22)},配偶,墩北1组1号,${GRID1}`,
  `吴敏,${idNumber('19850303', 32)},妻,墩北1组2号,${GRID1}`,
  `吴强,${idNumber('19830404', 41)},本人,墩北1组2号,${GRID1}`,
].join('\n') + '\n';

let srv, community, gridworker;
before(async () => {
  srv = await startServer();
  [community, gridworker] = await Promise.all(['community', 'gridworker'].map((u) => srv.login(u)));
  const r = await srv.api('POST', '/api/v1/persons/import', { token: community, raw: Buffer.from(ROSTER), headers: { 'content-type': 'text/csv' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.inserted, 4);
});
after(async () => { await srv.stop(); });

const person = async (name) => (await srv.api('GET', `/api/v1/persons?q=${encodeURIComponent(name)}`, { token: community })).json.items[0];
const household = async (id) => (await srv.api('GET', `/api/v1/households/${id}`, { token: community })).json;

test('the row marked 户主 or 本人 heads its household', async () => {
  const zhou = await person('周建国'), wu = await person('吴强');
  assert.equal((await household(zhou.household_id)).head_person_id, zhou.id);
  assert.equal((await household(wu.household_id)).head_person_id, wu.id, '本人 heads the household too, whatever the row order');
  const li = await person('周丽');
  assert.equal(li.household_id, zhou.household_id);
});

test('a head must be a member of the household', async () => {
  const zhou = await person('周建国'), wu = await person('吴强'), li = await person('周丽');
  const h = await household(zhou.household_id);
  const r = await srv.api('PATCH', `/api/v1/households/${h.id}`, { token: community, body: { head_person_id: wu.id } });
  expectError(r, 422, 'validation_failed', 'head_person_id');
  assert.equal((await household(h.id)).head_person_id, zhou.id, 'nothing changed');
  const ok = await srv.api('PATCH', `/api/v1/households/${h.id}`, { token: community, body: { head_person_id: li.id } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.head_person_id, li.id);
});

test('a new household cannot name a head, and an unknown person is not found', async () => {
  const zhou = await person('周建国');
  const created = await srv.api('POST', '/api/v1/households', { token: community, body: { grid_id: DEMO.grid, address: '墩北1组3号', head_person_id: zhou.id } });
  expectError(created, 422, 'validation_failed', 'head_person_id');
  const h = await household(zhou.household_id);
  const missing = await srv.api('PATCH', `/api/v1/households/${h.id}`, { token: community, body: { head_person_id: 999999 } });
  expectError(missing, 404, 'not_found', 'head_person_id');
  assert.ok(gridworker);
});

test('a head who moves to another household no longer heads the old one; the new one keeps its head', async () => {
  const wu = await person('吴强'), min = await person('吴敏');
  const home = await household(wu.household_id);
  assert.equal(home.head_person_id, wu.id);
  const zhou = await person('周建国');
  const other = await household(zhou.household_id);
  const moved = await srv.api('PATCH', `/api/v1/persons/${wu.id}`, { token: community, body: { household_id: zhou.household_id } });
  assert.equal(moved.status, 200, moved.text);
  const left = await household(home.id);
  assert.equal(left.head_person_id, null, 'the old household has no head until one is named');
  assert.equal(left.version, home.version + 1);
  assert.equal((await household(other.id)).head_person_id, other.head_person_id, 'moving in does not take over');
  // Another member may head it now; a change that keeps the household keeps the head.
  const named = await srv.api('PATCH', `/api/v1/households/${home.id}`, { token: community, body: { head_person_id: min.id } });
  assert.equal(named.status, 200, named.text);
  assert.equal((await srv.api('PATCH', `/api/v1/persons/${min.id}`, { token: community, body: { household_id: home.id, note: '仍在本户' } })).status, 200);
  assert.equal((await household(home.id)).head_person_id, min.id);
});

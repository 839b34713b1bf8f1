// The living demo: `wangge demo` builds a county with people in it, so that
// every role's first screen shows something true: households at the
// buildings' addresses, persons with valid ID numbers of the county, phones,
// the vulnerable groups, venues with QR codes, two weeks of scans, and one
// case traced and handed to its communities. Seeded and deterministic.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { startServer, initData, run, BIN, DEMO } = require('./helpers');

const PERSONS = 1500;
let srv, command, community, gridworker;

test.before(async () => {
  srv = await startServer({}, initData({}, BIN, PERSONS));
  command = await srv.login('command');
  community = await srv.login('community');
  gridworker = await srv.login('gridworker');
});
test.after(async () => { await srv.stop(); });

// GB 11643: weights, check characters, the birth date inside.
function validId(id) {
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = w.reduce((s, x, i) => s + x * Number(id[i]), 0);
  return /^\d{17}[\dX]$/.test(id) && '10X98765432'[sum % 11] === id[17];
}

async function all(token, p) {
  const items = [];
  for (let cursor = 0; ;) {
    const r = await srv.api('GET', `${p}${p.includes('?') ? '&' : '?'}limit=1000&cursor=${cursor}`, { token });
    assert.equal(r.status, 200, r.text);
    items.push(...r.json.items);
    if (r.json.next_cursor === null) return items;
    cursor = r.json.next_cursor;
  }
}

test('persons have valid ID numbers of the county, agreeing with their birth date and gender', async () => {
  const people = await all(command, '/api/v1/persons?reveal=1');
  assert.equal(people.length, PERSONS);
  for (const p of people) {
    assert.ok(validId(p.id_number), p.id_number);
    assert.equal(p.id_number.slice(0, 6), '320923', 'the demo county\'s region code');
    assert.equal(p.id_number.slice(6, 14), p.birth_date.replaceAll('-', ''));
    assert.equal(Number(p.id_number[16]) % 2 === 1, p.gender === 'male');
    if (p.phone) assert.match(p.phone, /^1[3-9]\d{9}$/);
    assert.ok(p.household_id > 0);
  }
  assert.equal(new Set(people.map((p) => p.id_number)).size, PERSONS, 'no number twice');
  assert.ok(people.filter((p) => p.phone).length > PERSONS * 0.7, 'most have a phone');
  const tags = new Set(people.flatMap((p) => p.tags));
  for (const t of ['低保对象', '独居老人', '党员', '慢性病']) assert.ok(tags.has(t), `someone is ${t}`);
});

test('households live at the addresses of the tree\'s buildings, each with its head', async () => {
  const homes = await all(command, '/api/v1/households');
  assert.ok(homes.length > PERSONS / 4);
  for (const h of homes.slice(0, 200)) {
    assert.match(h.address, /号楼\d+单元\d+室$/, h.address);
    assert.ok(h.head_person_id > 0);
    const node = await srv.api('GET', `/api/v1/grids/${h.grid_id}`, { token: command });
    assert.equal(node.json.kind, 'building');
    assert.ok(h.address.includes(node.json.name));
  }
});

// The first request after a start reads the presets from the store while it
// walks its own rows: it must list every record, not only the first.
test('the grid worker\'s first worklist after a start is the whole worklist', async () => {
  const first = await srv.api('GET', '/api/v1/worklist', { token: gridworker });
  assert.equal(first.status, 200, first.text);
  const again = await srv.api('GET', '/api/v1/worklist', { token: gridworker });
  assert.ok(first.json.checks.items.length > 1, `several records owe checks today: ${first.text}`);
  assert.deepEqual(first.json, again.json);
  // The day's checks exported first thing after a restart: every one of them.
  await srv.stop();
  srv = await startServer({}, srv.data);
  const sheet = await srv.api('GET', '/api/v1/checks/export?format=csv', { token: community });
  assert.equal(sheet.status, 200, sheet.text);
  const day = await srv.api('GET', '/api/v1/checks?limit=1', { token: community });
  assert.ok(day.json.total > 1, 'the demo has checks today');
  assert.equal(sheet.text.trim().split('\n').length - 1, day.json.total, sheet.text);
});

test('the checkpoint duty\'s town has its checkpoint, passed by people in the last 24 hours; every town has one', async () => {
  const checkpoint = await srv.login('checkpoint');
  const posts = await srv.api('GET', '/api/v1/venues?kind=checkpoint&limit=100', { token: checkpoint });
  assert.equal(posts.status, 200, posts.text);
  assert.deepEqual(posts.json.items.map((v) => v.name), ['阜城街道检查站']);
  const day = await srv.api('GET', `/api/v1/venues/${posts.json.items[0].id}/scans?days=1`, { token: checkpoint });
  assert.ok(day.json.scans > 0, `scans in the last 24 hours: ${day.text}`);
  const towns = await srv.api('GET', `/api/v1/grids/${DEMO.county}/children`, { token: command });
  const all = await srv.api('GET', '/api/v1/venues?kind=checkpoint&limit=100', { token: command });
  assert.deepEqual(all.json.items.map((v) => v.name).sort(), towns.json.items.map((t) => `${t.name}检查站`).sort());
});

test('every role\'s first screen has something: the grid worker\'s people, the community\'s contact list', async () => {
  const mine = await srv.api('GET', '/api/v1/persons?limit=5', { token: gridworker });
  assert.ok(mine.json.total > 5, 'people in the grid worker\'s grid');
  assert.match(mine.json.items[0].id_number, /^\d{6}\*+\d{3}[\dX]$/, 'masked for her');
  const venues = await srv.api('GET', `/api/v1/venues?grid=${DEMO.community}`, { token: community });
  assert.ok(venues.json.total >= 6);
  const qr = await srv.api('GET', `/api/v1/venues/${venues.json.items[0].id}/qr.svg`, { token: community });
  assert.match(qr.text, /^<svg/);
  const scans = await srv.api('GET', `/api/v1/venues/${venues.json.items[0].id}/scans?days=14`, { token: community });
  assert.ok(scans.json.scans > 10, 'two weeks of scans');
  const cases = await srv.api('GET', '/api/v1/cases', { token: command });
  assert.equal(cases.json.total, 1);
  assert.equal(cases.json.items[0].status, 'applied');
  const list = await srv.api('GET', '/api/v1/contacts?limit=1000', { token: community });
  assert.ok(list.json.total > 0, 'the community has a list to work from');
  const called = list.json.items.find((c) => c.phone);
  assert.ok(called, 'with someone to call');
  assert.match(called.address, /\*/, 'the address masked by default');
  assert.ok(called.grid && called.grid.name, 'the grid named');
  for (const c of list.json.items) {
    assert.match(c.grid.name, /网格$/, 'the grid, not the building');
    assert.ok(c.leaders.some((l) => l.duty === '网格员' && /^1\d{10}$/.test(l.phone)), `a grid worker to call for ${c.name}`);
  }
  const whole = await srv.api('GET', '/api/v1/contacts?limit=1000&reveal=1', { token: community });
  assert.ok(whole.json.items.some((c) => /号楼\d+单元\d+室$/.test(c.address)), 'revealed: the door to knock on');
});

test('the dashboard\'s figures: each place under a node with its households, persons, cases and contacts, adding up', async () => {
  const county = await srv.api('GET', '/api/v1/stats/children', { token: command });
  assert.equal(county.status, 200, county.text);
  assert.equal(county.json.node.kind, 'county', 'the caller\'s scope node by default');
  assert.equal(county.json.node.persons, PERSONS);
  const homes = (await srv.api('GET', '/api/v1/households?limit=1', { token: command })).json.total;
  assert.equal(county.json.node.households, homes);
  assert.equal(county.json.node.cases, 1);
  assert.ok(county.json.items.length > 3, 'the towns and streets');
  for (const k of ['households', 'persons', 'cases', 'contacts']) {
    assert.equal(county.json.items.reduce((s, c) => s + c[k], 0), county.json.node[k], `${k} add up`);
  }
  // Down to the demo community: its figures are what its own lists say.
  const mine = await srv.api('GET', `/api/v1/stats/children?node=${DEMO.community}`, { token: community });
  assert.equal(mine.status, 200, mine.text);
  const listed = await srv.api('GET', '/api/v1/contacts?limit=1', { token: community });
  assert.equal(mine.json.node.contacts, listed.json.total);
  const persons = await srv.api('GET', '/api/v1/persons?limit=1', { token: community });
  assert.equal(mine.json.node.persons, persons.json.total);
  assert.ok(mine.json.items.every((c) => c.kind === 'grid'));
  // Each grid's list, as its grid worker would filter it, has as many as the figure says.
  for (const g of mine.json.items) {
    const one = await srv.api('GET', `/api/v1/contacts?grid=${g.id}&limit=1`, { token: community });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.total, g.contacts, g.name);
  }
  assert.ok(mine.json.items.some((g) => g.contacts > 0), 'someone to call in some grid');
  const elsewhere = await srv.api('GET', `/api/v1/contacts?grid=${county.json.node.id}`, { token: community });
  assert.equal(elsewhere.status, 404);
  assert.equal(elsewhere.json.error.field, 'grid');
  // Outside one's scope the node does not exist; a role without the right sees places, not people.
  const outside = await srv.api('GET', `/api/v1/stats/children?node=${county.json.node.id}`, { token: gridworker });
  assert.equal(outside.status, 404);
  assert.equal(outside.json.error.field, 'node');
  const checkpoint = await srv.api('GET', '/api/v1/stats/children', { token: await srv.login('checkpoint') });
  assert.equal(checkpoint.status, 200, checkpoint.text);
  assert.equal(checkpoint.json.node.persons, undefined);
  const bad = await srv.api('GET', '/api/v1/stats/children?node=abc', { token: command });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error.field, 'node');
});

test('the same seed makes the same county, wherever the program is run from', async () => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-elsewhere-'));
  const snapshot = (dir) => {
    const r = run(['user', 'list', '--data', dir]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };
  const a = initData({}, BIN, 300), b = fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-test-'));
  // b is made from another directory: the division tree is inside the program.
  const { spawnSync } = require('node:child_process');
  let r = spawnSync(BIN, ['init', '--data', b, '--password-stdin', '--root-name', '测试县'], { input: 'admin-password-2026\n', cwd: outside, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  fs.appendFileSync(path.join(b, 'wangge.conf'), 'pwhash_ops = 1\npwhash_mem = 8192\n');
  r = spawnSync(BIN, ['demo', '--data', b, '--persons', '300'], { cwd: outside, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /300 persons/);
  assert.equal(snapshot(a.dir), snapshot(b));
  const s1 = await startServer({}, a), s2 = await startServer({}, { dir: b });
  try {
    const names = async (s) => (await s.api('GET', '/api/v1/persons?limit=300', { token: await s.login('command') })).json.items
      .map((p) => `${p.name} ${p.birth_date} ${p.gender}`);
    assert.deepEqual(await names(s1), await names(s2));
  } finally {
    await s1.stop();
    await s2.stop();
  }
});

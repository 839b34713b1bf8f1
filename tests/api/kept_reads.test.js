'use strict';
// A grid node's answer is kept in memory on PostgreSQL, true to the store:
// what this server writes is read back at once, and what another process
// changes behind its back (a CLI, a second server, SQL) is read within a
// moment, through LISTEN/NOTIFY. On SQLite nothing is kept; the same
// answers are required of both.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, sql, DEMO } = require('./helpers');
const { poll } = require('./expect');

let srv, command, gridworker;
before(async () => {
  srv = await startServer();
  [command, gridworker] = await Promise.all([srv.login('command'), srv.login('gridworker')]);
});
after(async () => { await srv.stop(); });

const node = async (id, token = gridworker) => {
  const r = await srv.api('GET', `/api/v1/grids/${id}`, { token });
  assert.equal(r.status, 200, r.text);
  return r.json;
};

test('a write is read back at once: name, leaders, a new child', async () => {
  const before = await node(DEMO.grid);
  await node(DEMO.grid);   // kept now, where anything is kept
  const renamed = await srv.api('PATCH', `/api/v1/grids/${DEMO.grid}`, { token: command,
    headers: { 'if-match': String(before.version) }, body: { name: '第1网格(改)' } });
  assert.equal(renamed.status, 200, renamed.text);
  const after = await node(DEMO.grid);
  assert.equal(after.name, '第1网格(改)');
  assert.equal(after.version, before.version + 1);
  const child = await srv.api('POST', '/api/v1/grids', { token: command, body: { parent_id: DEMO.grid, kind: 'building', name: '新楼' } });
  assert.equal(child.status, 201, child.text);
  assert.equal((await node(DEMO.grid)).child_count, before.child_count + 1, 'the count of children is the node\'s too');
  // A leader's new name shows on the node that names her.
  const leader = after.leaders[0];
  assert.ok(leader, 'the demo grid has a leader');
  const user = await srv.api('GET', `/api/v1/users/${leader.user_id}`, { token: command });
  const named = await srv.api('PATCH', `/api/v1/users/${leader.user_id}`, { token: command,
    headers: { 'if-match': String(user.json.version) }, body: { display_name: '王网格员' } });
  assert.equal(named.status, 200, named.text);
  assert.equal((await node(DEMO.grid)).leaders.find((l) => l.user_id === leader.user_id).name, '王网格员');
});

test('a change made behind the server\'s back is read within a moment', async () => {
  await node(DEMO.grid);
  sql(srv.data, `UPDATE grid_nodes SET name = '改名于库', version = version + 1 WHERE id = ${DEMO.grid}`);
  const seen = await poll(async () => ((await node(DEMO.grid)).name === '改名于库' ? true : null), 3000);
  assert.ok(seen, 'the new name within 3 s');
});

test('out of scope stays out of scope, kept or not', async () => {
  const root = await node(1, command);
  assert.ok(root.id);
  for (let i = 0; i < 2; i++) {
    const r = await srv.api('GET', '/api/v1/grids/1', { token: gridworker });
    assert.equal(r.status, 404, r.text);
  }
});

// A domain is a folder and one line: the example module (tests/modules/example),
// built into a second server binary, brings its right, table, resource,
// route, command and demo record without a line of the platform edited.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, run, ROOT, DEMO } = require('./helpers');
const { expectError } = require('./expect');

const EXAMPLE_BIN = path.join(ROOT, 'build/san/wangge-example');
let srv, tokens = {};

test.before(async () => {
  srv = await startServer({}, null, EXAMPLE_BIN);
  for (const u of ['command', 'community', 'gridworker']) tokens[u] = await srv.login(u);
});
test.after(async () => { await srv.stop(); });

test('the example module adds its right to the roles its declaration names', async () => {
  const rights = await srv.api('GET', '/api/v1/rights', { token: tokens.gridworker });
  assert.equal(rights.status, 200);
  const mine = rights.json.items.filter((x) => x.module === 'example').map((x) => x.name);
  assert.deepEqual(mine, ['EXAMPLE_READ', 'EXAMPLE_WRITE']);
  const roles = await srv.api('GET', '/api/v1/roles', { token: tokens.gridworker });
  const by = Object.fromEntries(roles.json.items.map((x) => [x.name, x.rights]));
  assert.ok(by.command.includes('EXAMPLE_WRITE'));
  assert.ok(by.community.includes('EXAMPLE_READ') && !by.community.includes('EXAMPLE_WRITE'));
  assert.ok(!by.grid_worker.includes('EXAMPLE_READ'));
});

test('its resource answers with the generic handlers, scope and rights', async () => {
  const list = await srv.api('GET', '/api/v1/examples', { token: tokens.community });
  assert.equal(list.status, 200);
  assert.equal(list.json.total, 1, 'the demo record of its demo hook');
  assert.equal(list.json.items[0].name, '演示示例');
  const made = await srv.api('POST', '/api/v1/examples', { token: tokens.command, body: { grid_id: DEMO.grid, name: '新示例' } });
  assert.equal(made.status, 201, made.text);
  expectError(await srv.api('POST', '/api/v1/examples', { token: tokens.community, body: { grid_id: DEMO.grid, name: 'x' } }),
    403, 'forbidden');
  expectError(await srv.api('GET', '/api/v1/examples', { token: tokens.gridworker }), 403, 'forbidden');
  expectError(await srv.api('POST', '/api/v1/examples', { token: tokens.command, body: { grid_id: DEMO.grid } }),
    422, 'required', 'name');
  const hello = await srv.api('GET', `/api/v1/examples/${made.json.id}/hello`, { token: tokens.community });
  assert.equal(hello.status, 200);
  assert.deepEqual(hello.json, { hello: '你好', name: '新示例' });
});

test('its command runs from the one command table, its route is listed', async () => {
  const r = srv.cli(['example']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /example module/);
  const routes = run(['routes'], undefined, EXAMPLE_BIN);
  assert.match(routes.stdout, /GET\s+\/api\/v1\/examples\/\{id\}\/hello\s+EXAMPLE_READ/);
});

test('its migration came with the module and is recorded as applied', async () => {
  const r = srv.cli(['migrate']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^0 migration\(s\) applied/);
  // The production build has none of it.
  const prod = fs.readFileSync(path.join(ROOT, 'build/san/wangge'));
  assert.equal(prod.includes(Buffer.from('CREATE TABLE examples')), false);
});

'use strict';
// 字典管理 and 参数设置: the value lists the resources accept, read from the
// declarations the validation uses, and the server's parameters as set in
// wangge.conf, for the administrator only and without secrets.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ADMIN_PASSWORD } = require('./helpers');
const { expectError } = require('./expect');

let srv, admin, community;
before(async () => {
  srv = await startServer({ login_lock_seconds: 600, audit_archive_days: 180, metrics_token: 'not-for-pages' });
  [admin, community] = await Promise.all([srv.login('admin', ADMIN_PASSWORD), srv.login('community')]);
});
after(async () => { await srv.stop(); });

test('dictionaries: every value list with the labels people read, the same the server validates with', async () => {
  const r = await srv.api('GET', '/api/v1/dictionaries', { token: community });
  assert.equal(r.status, 200, r.text);
  const of = (res, field) => r.json.items.find((d) => d.resource === res && d.field === field);
  const tags = of('households', 'tags');
  assert.equal(tags.kind, 'tags');
  assert.ok(tags.values.some((v) => v.value === '低保对象' && v.label === '低保对象'));
  const kinds = of('grids', 'kind');
  assert.equal(kinds.kind, 'enum');
  assert.equal(kinds.field_zh.length > 0, true);
  // A value outside the list is refused by the resource itself, naming the field.
  const bad = kinds.values.map((v) => v.value).includes('单元') ? null : '单元';
  assert.ok(bad);
  const made = await srv.api('POST', '/api/v1/grids', { token: admin, body: { name: '试验', kind: bad, parent_id: 1 } });
  expectError(made, 422, 'validation_failed', 'kind');
  expectError(await srv.api('GET', '/api/v1/dictionaries'), 401, 'unauthorized');
});

test('parameters: what wangge.conf set, in words and units, for the administrator only', async () => {
  const r = await srv.api('GET', '/api/v1/parameters', { token: admin });
  assert.equal(r.status, 200, r.text);
  const by = Object.fromEntries(r.json.items.map((p) => [p.key, p]));
  assert.equal(by.time_zone.value, 'Asia/Shanghai');
  assert.equal(by.login_lock_seconds.value, 600);
  assert.equal(by.login_lock_seconds.value_text, '10 分钟 / 10 min');
  assert.equal(by.audit_archive_days.value_text, '180 天 / 180 d');
  assert.equal(by.audit_archive_days.source, 'wangge.conf');
  // A module's own setting, beside the file's: how long scans are kept.
  assert.deepEqual([by.scan_retention_days.value, by.scan_retention_days.value_text, by.scan_retention_days.source],
    [28, '28 天 / 28 d', 'tracing']);
  assert.match(by.login_fails_per_user.zh, /锁定/);
  assert.equal(by.metrics_token, undefined, 'no secrets');
  assert.equal(by.db, undefined, 'no database address');
  assert.ok(!r.text.includes('not-for-pages'));
  assert.match(r.json.note, /wangge\.conf/);
  expectError(await srv.api('GET', '/api/v1/parameters', { token: community }), 403, 'forbidden');
});

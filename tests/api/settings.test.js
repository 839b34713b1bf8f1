'use strict';
// 字典管理 and 参数设置: the value lists the resources accept, read from the
// declarations the validation uses, and the server's parameters as set in
// wangge.conf, for the administrator only and without secrets.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ADMIN_PASSWORD, DEMO } = require('./helpers');
const { expectError } = require('./expect');

let srv, admin, community, auditor;
before(async () => {
  srv = await startServer({ login_lock_seconds: 600, audit_archive_days: 180, metrics_token: 'not-for-pages' });
  [admin, community, auditor] = await Promise.all([srv.login('admin', ADMIN_PASSWORD), srv.login('community'), srv.login('auditor')]);
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
  assert.equal(by.login_lock_seconds.editable, true);
  assert.equal(by.login_lock_seconds.applies, 'now');
  assert.deepEqual([by.login_lock_seconds.min, by.login_lock_seconds.max], [1, 86400]);
  assert.equal(by.time_zone.applies, 'restart');
  assert.equal(by.threads.editable, false);
  assert.equal(by.scan_retention_days.editable, false);
  expectError(await srv.api('GET', '/api/v1/parameters', { token: community }), 403, 'forbidden');
});

// 字典管理: an administrator adds a kind of venue; it is accepted by value and
// by label, filtered, exported in words, refused for deletion while used.
test('dictionaries: a value added to an extensible list is accepted, exported by its label, and guarded', async () => {
  const add = (body, token = admin) => srv.api('POST', '/api/v1/dictionaries/entries', { token, body });
  expectError(await add({ resource: 'venues', field: 'kind', value: 'vaccination', label: '接种点' }, community), 403, 'forbidden');
  expectError(await add({ resource: 'nope', field: 'kind', value: 'x' }), 422, 'validation_failed', 'resource');
  expectError(await add({ resource: 'grids', field: 'kind', value: 'unit', label: '单元' }), 422, 'validation_failed', 'field');
  expectError(await add({ resource: 'venues', field: 'kind', value: 'a,b' }), 422, 'validation_failed', 'value');
  expectError(await add({ resource: 'venues', field: 'kind', value: 'shop', label: '商超' }), 409, 'conflict', 'label');
  expectError(await add({ resource: 'venues', field: 'kind' }), 422, 'required', 'value');
  const before = (await srv.api('GET', '/api/v1/dictionaries', { token: admin })).json;
  const made = await add({ resource: 'venues', field: 'kind', value: 'vaccination', label: '接种点', label_en: 'vaccination site', sort: 5 });
  assert.equal(made.status, 201, made.text);
  assert.deepEqual([made.json.value, made.json.label, made.json.enabled, made.json.version], ['vaccination', '接种点', true, 1]);
  expectError(await add({ resource: 'venues', field: 'kind', value: '接种点' }), 409, 'conflict', 'value');

  const dict = (await srv.api('GET', '/api/v1/dictionaries', { token: community })).json;
  const kinds = dict.items.find((d) => d.resource === 'venues' && d.field === 'kind');
  assert.equal(kinds.extensible, true);
  const added = kinds.values.find((v) => v.value === 'vaccination');
  assert.deepEqual([added.label, added.builtin, added.label_en], ['接种点', false, 'vaccination site']);
  assert.equal(kinds.values.length, before.items.find((d) => d.resource === 'venues' && d.field === 'kind').values.length + 1);

  // A venue takes the added kind by its label, as people type it, and stores the value.
  const v = await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '阜城接种点', kind: '接种点' } });
  assert.equal(v.status, 201, v.text);
  assert.equal(v.json.kind, 'vaccination');
  const listed = await srv.api('GET', '/api/v1/venues?kind=vaccination', { token: community });
  assert.deepEqual(listed.json.items.map((x) => x.name), ['阜城接种点']);
  const csv = await srv.api('GET', '/api/v1/venues/export?format=csv', { token: community });
  assert.equal(csv.status, 200, csv.text);
  assert.match(csv.text, /阜城接种点,接种点/);
  expectError(await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '另一处', kind: '疫苗站' } }),
    422, 'validation_failed', 'kind');

  // In use: not deleted (the count is named); disabled instead, the venue stays editable.
  const del = expectError(await srv.api('DELETE', `/api/v1/dictionaries/entries/${made.json.id}`, { token: admin }), 409, 'conflict', 'value');
  assert.match(del.message, /1 条记录/);
  expectError(await srv.api('PATCH', `/api/v1/dictionaries/entries/${made.json.id}`, { token: admin, body: { version: 7, enabled: false } }),
    412, 'version_mismatch');
  expectError(await srv.api('PATCH', `/api/v1/dictionaries/entries/${made.json.id}`, { token: admin, body: { value: 'other' } }),
    422, 'unknown_field', 'value');
  const off = await srv.api('PATCH', `/api/v1/dictionaries/entries/${made.json.id}`, { token: admin, body: { version: 1, enabled: false, label: '疫苗接种点' } });
  assert.equal(off.status, 200, off.text);
  assert.deepEqual([off.json.enabled, off.json.label, off.json.version], [false, '疫苗接种点', 2]);
  const kept = await srv.api('PATCH', `/api/v1/venues/${v.json.id}`, { token: community, body: { kind: 'vaccination', address: '阜城镇卫生院' } });
  assert.equal(kept.status, 200, kept.text);
  await srv.api('PATCH', `/api/v1/venues/${v.json.id}`, { token: community, body: { kind: 'hospital' } });
  const gone = await srv.api('DELETE', `/api/v1/dictionaries/entries/${made.json.id}`, { token: admin });
  assert.equal(gone.status, 204, gone.text);
  const audit = await srv.api('GET', '/api/v1/audit?resource=dict_entries', { token: auditor });
  assert.deepEqual(audit.json.items.map((a) => a.action).sort(), ['create', 'delete', 'update']);
});

test('dictionaries: a tag added to the key groups (重点人群) is taken by persons and found by the filter', async () => {
  const made = await srv.api('POST', '/api/v1/dictionaries/entries', { token: admin, body: { resource: 'persons', field: 'tags', value: '外来务工人员' } });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.json.label, '外来务工人员');
  // A tag is its own name: records store and pages show the word.
  expectError(await srv.api('POST', '/api/v1/dictionaries/entries', { token: admin, body: { resource: 'households', field: 'tags', value: '租户', label: '出租户' } }),
    422, 'validation_failed', 'label');
  expectError(await srv.api('PATCH', `/api/v1/dictionaries/entries/${made.json.id}`, { token: admin, body: { label: '务工人员' } }),
    422, 'validation_failed', 'label');
  const p = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name: '简怡', tags: ['慢性病', '外来务工人员'] } });
  assert.equal(p.status, 201, p.text);
  assert.deepEqual(p.json.tags, ['慢性病', '外来务工人员']);
  const found = await srv.api('GET', `/api/v1/persons?tags=${encodeURIComponent('外来务工人员')}`, { token: community });
  assert.deepEqual(found.json.items.map((x) => x.name), ['简怡']);
  // Households keep their own list: the person's tag is not one of theirs.
  expectError(await srv.api('POST', '/api/v1/households', { token: community, body: { grid_id: DEMO.grid, address: '阜城镇 1 号', tags: ['外来务工人员'] } }),
    422, 'validation_failed', 'tags');
});

// 参数设置: the administrator sets a parameter with her password; a live one
// works at once, a restart one waits for the next start; null takes it back.
test('parameters: set on the page, checked, audited, live or at the next start', async () => {
  const put = (body, token = admin) => srv.api('PUT', '/api/v1/parameters', { token, body });
  expectError(await put({ key: 'login_fails_per_user', value: 2, current_password: ADMIN_PASSWORD }, community), 403, 'forbidden');
  expectError(await put({ key: 'login_fails_per_user', value: 0, current_password: ADMIN_PASSWORD }), 422, 'validation_failed', 'value');
  expectError(await put({ key: 'login_fails_per_user', value: '3', current_password: ADMIN_PASSWORD }), 422, 'validation_failed', 'value');
  expectError(await put({ key: 'threads', value: 4, current_password: ADMIN_PASSWORD }), 422, 'validation_failed', 'key');
  expectError(await put({ key: 'db', value: 'x', current_password: ADMIN_PASSWORD }), 422, 'validation_failed', 'key');
  expectError(await put({ key: 'time_zone', value: 'Mars/Olympus', current_password: ADMIN_PASSWORD }), 422, 'validation_failed', 'value');
  expectError(await put({ key: 'totp_roles', value: 'admin nobody', current_password: ADMIN_PASSWORD }), 422, 'validation_failed', 'value');
  expectError(await put({ key: 'login_fails_per_user', value: 2 }), 422, 'required', 'current_password');
  expectError(await put({ key: 'login_fails_per_user', value: 2, current_password: 'wrong-password-1' }), 422, 'validation_failed', 'current_password');
  let by = Object.fromEntries((await srv.api('GET', '/api/v1/parameters', { token: admin })).json.items.map((p) => [p.key, p]));
  assert.equal(by.login_fails_per_user.source, 'wangge.conf', 'refused requests changed nothing');

  // Live: two wrong passwords now lock an account.
  const set = await put({ key: 'login_fails_per_user', value: 2, current_password: ADMIN_PASSWORD });
  assert.equal(set.status, 200, set.text);
  assert.deepEqual([set.json.value, set.json.source, set.json.updated_by, set.json.pending], [2, 'page', 'admin', false]);
  assert.match(set.json.updated_at_text, /^\d{4}-\d\d-\d\dT/);
  for (let i = 0; i < 2; i++) {
    const bad = await srv.api('POST', '/api/v1/session', { body: { username: 'gridworker', password: 'not-the-password' } });
    assert.equal(bad.status, 401, bad.text);
  }
  expectError(await srv.api('POST', '/api/v1/session', { body: { username: 'gridworker', password: 'not-the-password' } }), 429, 'locked');

  // At the next start: the zone waits, shown as pending.
  const tz = await put({ key: 'time_zone', value: 'Asia/Urumqi', current_password: ADMIN_PASSWORD });
  assert.equal(tz.status, 200, tz.text);
  assert.deepEqual([tz.json.value, tz.json.stored, tz.json.pending, tz.json.applies, tz.json.source],
    ['Asia/Shanghai', 'Asia/Urumqi', true, 'restart', 'wangge.conf']);
  const audit = await srv.api('GET', '/api/v1/audit?resource=parameters', { token: auditor });
  assert.equal(audit.json.items.length, 2);

  await srv.stop();
  srv = await startServer({}, srv.data);
  admin = await srv.login('admin', ADMIN_PASSWORD);
  by = Object.fromEntries((await srv.api('GET', '/api/v1/parameters', { token: admin })).json.items.map((p) => [p.key, p]));
  assert.deepEqual([by.time_zone.value, by.time_zone.source, by.time_zone.pending, by.time_zone.file_value],
    ['Asia/Urumqi', 'page', false, 'Asia/Shanghai']);
  assert.equal(by.login_fails_per_user.value, 2);
  assert.match(by.login_fails_per_user.updated_at_text, /\+06:00$/, 'times are shown in the zone set on the page');
  // Another zone set while this one runs: the running one still comes from the page.
  const next = await put({ key: 'time_zone', value: 'Asia/Shanghai', current_password: ADMIN_PASSWORD });
  assert.deepEqual([next.json.value, next.json.source, next.json.pending], ['Asia/Urumqi', 'page', true]);

  // Taken back: wangge.conf's value again, at once for a live one.
  const back = await put({ key: 'login_fails_per_user', value: null, current_password: ADMIN_PASSWORD });
  assert.equal(back.status, 200, back.text);
  assert.deepEqual([back.json.value, back.json.source, back.json.stored], [by.login_fails_per_user.file_value, 'wangge.conf', null]);
});

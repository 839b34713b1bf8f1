'use strict';
// Control lists: presets as versioned configuration, control records and
// their state machine, release per preset, checks and alerts with their
// escalation, the worklist on a hand-made tree, the import of a city's
// list, the roll-ups, and the whole way from a trace to a release.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, DEMO } = require('./helpers');
const { expectError, sleep, poll } = require('./expect');
const { idNumber, phone, now, day, at, person, control, node, user, rollupsAgree, OFFSET } = require('./control_util');

let srv, command, community, gridworker, volunteer;
let seq = 100;
const mk = (name, extra = {}) => person(srv, community, DEMO.grid, name, { id_number: idNumber(++seq), phone: phone(seq), ...extra });

before(async () => {
  srv = await startServer();
  [command, community, gridworker, volunteer] = await Promise.all(['command', 'community', 'gridworker', 'volunteer'].map((u) => srv.login(u)));
});
after(async () => { await srv.stop(); });

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/;

test('presets are versioned configuration: seeded, edited into new versions, refused precisely', async () => {
  const list = await srv.api('GET', '/api/v1/presets', { token: gridworker });
  assert.equal(list.status, 200, list.text);
  const byCode = Object.fromEntries(list.json.items.map((p) => [p.code, p]));
  assert.deepEqual(Object.keys(byCode).sort(), ['twenty', 'v8', 'v9']);
  assert.deepEqual(byCode.v9.rules.categories.close.phases.map((p) => [p.mode, p.days, p.nat_days]),
    [['central', 7, [1, 2, 3, 5, 7]], ['home_monitoring', 3, [3]]]);
  assert.equal(byCode.v8.rules.categories.close.phases[0].days, 14);
  assert.equal(byCode.twenty.rules.categories.secondary, undefined, '二十条 no longer determines 次密接');
  assert.equal(byCode.v9.name, '第九版');
  assert.match(byCode.v9.updated_at_text, ISO);
  const shapes = await srv.api('GET', '/api/v1/team-shapes', { token: gridworker });
  assert.deepEqual(shapes.json.items.map((s) => [s.code, s.rules.members.length]).sort(), [['five_one', 5], ['three_one', 3]]);

  // A county's own preset: version 1, then a PUT makes version 2 active.
  const rules = { lookback_days: 2, team_shape: 'three_one', checks_per_day: 1, symptoms: [{ code: 'fever', zh: '发热' }],
    categories: { pushed: { phases: [{ mode: 'home_monitoring', days: 3, nat_days: [1, 3] }] } } };
  expectError(await srv.api('POST', '/api/v1/presets', { token: community, body: { code: 'local', name: '本地', rules } }), 403, 'forbidden');
  const made = await srv.api('POST', '/api/v1/presets', { token: command, body: { code: 'local', name: '本县做法', rules } });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.json.active_version, 1);
  const v2 = await srv.api('PUT', `/api/v1/presets/${made.json.id}`, { token: command, headers: { 'if-match': '1' },
    body: { rules: { ...rules, checks_per_day: 2 }, note: '每日两测' } });
  assert.equal(v2.status, 200, v2.text);
  assert.equal(v2.json.active_version, 2);
  assert.equal(v2.json.rules.checks_per_day, 2);
  expectError(await srv.api('PUT', `/api/v1/presets/${made.json.id}`, { token: command, headers: { 'if-match': '1' }, body: { rules } }),
    412, 'version_mismatch', 'version');
  const versions = await srv.api('GET', `/api/v1/presets/${made.json.id}/versions`, { token: command });
  assert.deepEqual(versions.json.items.map((v) => [v.number, v.rules.checks_per_day, v.note]), [[2, 2, '每日两测'], [1, 1, null]]);
  // Rules that would not work are refused naming the member.
  const bad = async (r, field) => expectError(await srv.api('PUT', `/api/v1/presets/${made.json.id}`, { token: command, body: { rules: r } }),
    422, 'validation_failed', field);
  await bad({ ...rules, categories: { pushed: { phases: [{ mode: 'home_monitoring', days: 3, nat_days: [4] }] } } }, 'rules.categories.pushed.phases[0].nat_days');
  await bad({ ...rules, categories: { nearby: { phases: [] } } }, 'rules.categories.nearby');
  await bad({ ...rules, categories: { pushed: { phases: [{ mode: 'hotel', days: 3 }] } } }, 'rules.categories.pushed.phases[0].mode');
  await bad({ ...rules, team_shape: 'nine_one' }, 'rules.team_shape');
  await bad({ ...rules, fever_c: 36 }, 'rules.fever_c');
  await bad({ ...rules, colour: 'red' }, 'rules.colour');
  expectError(await srv.api('POST', '/api/v1/presets', { token: command, body: { code: 'local', name: 'x', rules } }), 409, 'conflict', 'code');
  expectError(await srv.api('POST', '/api/v1/presets', { token: command, body: { code: 'Bad Code', name: 'x', rules } }), 422, 'validation_failed', 'code');
  expectError(await srv.api('POST', '/api/v1/team-shapes', { token: command, body: { code: 'two_one', name: '二包一', rules: { members: [{ role: 'a', zh: '甲' }, { role: 'a', zh: '乙' }] } } }),
    422, 'validation_failed', 'rules.members[1]');
});

test('a record is opened from the preset: category, mode, dates, version and team; times twinned', async () => {
  const p = await mk('管控甲');
  const c = await control(srv, community, { person_id: p, category: 'close', preset: 'v9', start_date: day(-2) });
  assert.equal(c.status, 'active');
  assert.equal(c.mode, 'central', 'day 3 of 7 days central');
  assert.equal(c.start_date, day(-2));
  assert.equal(c.end_date, day(7), '7 days central + 3 days home monitoring');
  assert.equal(c.preset, 'v9');
  assert.equal(c.preset_version, 1);
  assert.equal(c.day_no, 3);
  assert.equal(c.name, '管控甲');
  assert.equal(c.grid_id, DEMO.grid);
  assert.equal(c.team_shape, 'five_one');
  assert.deepEqual(c.team.map((m) => m.zh), ['党工委干部', '社区干部', '网格员', '公安民警', '医护人员']);
  const worker = c.team.find((m) => m.role === 'grid_worker');
  assert.equal(worker.name, '网格员小王', 'the grid\'s 网格员 fills the slot');
  assert.deepEqual(c.nat_days.map((d) => d.day_no), [1, 2, 3, 5, 7, 10]);
  assert.equal(c.nat_days[0].date, day(-2));
  assert.match(c.created_at_text, ISO);
  assert.equal(Date.parse(c.created_at_text) / 1000, c.created_at);
  // A grid worker reads it; a volunteer may not.
  const got = await srv.api('GET', `/api/v1/controls/${c.id}`, { token: gridworker });
  assert.equal(got.status, 200, got.text);
  expectError(await srv.api('GET', `/api/v1/controls/${c.id}`, { token: volunteer }), 403, 'forbidden');
  // The team: a slot filled by hand; a role the shape lacks is refused.
  const team = await srv.api('PUT', `/api/v1/controls/${c.id}/team`, { token: community,
    body: { members: [{ role: 'police', name: '李警官', phone: '13912345678' }] } });
  assert.equal(team.status, 200, team.text);
  assert.equal(team.json.team.find((m) => m.role === 'police').name, '李警官');
  expectError(await srv.api('PUT', `/api/v1/controls/${c.id}/team`, { token: community, body: { members: [{ role: 'mayor', name: 'x' }] } }),
    422, 'validation_failed', 'members[0].role');
  // Only the notes change by PATCH; a record is never deleted.
  const patched = await srv.api('PATCH', `/api/v1/controls/${c.id}`, { token: community, body: { notes: '独居' } });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.json.notes, '独居');
  expectError(await srv.api('PATCH', `/api/v1/controls/${c.id}`, { token: community, body: { mode: 'home_isolation' } }), 422, 'validation_failed', 'mode');
  expectError(await srv.api('PATCH', `/api/v1/controls/${c.id}`, { token: community, body: { status: 'released' } }), 422, 'validation_failed', 'status');
  expectError(await srv.api('DELETE', `/api/v1/controls/${c.id}`, { token: community }), 409, 'conflict');
  // A category the preset leaves out needs its mode and end date.
  const q = await mk('推送乙');
  expectError(await srv.api('POST', '/api/v1/controls', { token: community, body: { person_id: q, category: 'pushed' } }), 422, 'required', 'mode');
  const pushed = await control(srv, community, { person_id: q, category: 'pushed', mode: 'home_monitoring', end_date: day(6), source: '指挥部推送 第3批' });
  assert.equal(pushed.start_date, day(0));
  assert.equal(pushed.preset, 'v9', 'the default preset (a setting)');
  assert.deepEqual(pushed.nat_days, []);
  const s = await mk('次密丙');
  expectError(await srv.api('POST', '/api/v1/controls', { token: community, body: { person_id: s, category: 'secondary', preset: 'twenty' } }),
    422, 'required', 'mode');
});

test('bad input: precise errors, nothing written', async () => {
  const p = await mk('坏输入甲');
  const count = async () => (await srv.api('GET', '/api/v1/controls?limit=1', { token: command })).json.total;
  const before = await count();
  const post = (body, token = community) => srv.api('POST', '/api/v1/controls', { token, body });
  expectError(await post({ person_id: 99999999, category: 'close' }), 404, 'not_found', 'person_id');
  expectError(await post({ person_id: p, category: 'close', start_date: day(0), end_date: day(-1) }), 422, 'validation_failed', 'end_date');
  expectError(await post({ person_id: p, category: 'close', start_date: '2022-02-30' }), 422, 'validation_failed', 'start_date');
  expectError(await post({ person_id: p, category: 'neighbour' }), 422, 'validation_failed', 'category');
  expectError(await post({ person_id: p, category: 'close', preset: 'v10' }), 422, 'validation_failed', 'preset');
  expectError(await post({ person_id: p, category: 'close', status: 'released' }), 422, 'validation_failed', 'status');
  expectError(await post({ person_id: p, category: 'close', colour: 'red' }), 422, 'unknown_field', 'colour');
  expectError(await post({ category: 'close' }), 422, 'required', 'person_id');
  expectError(await post({ person_id: p, category: 'close' }, gridworker), 403, 'forbidden');
  // Out of scope: a person of another community is unknown to this one.
  const far = await srv.api('POST', '/api/v1/grids', { token: command, body: { parent_id: DEMO.street, kind: 'community', name: '远处社区' } });
  const farGrid = await node(srv, command, far.json.id, 'grid', '远处网格');
  const stranger = await person(srv, command, farGrid, '外社区丁');
  expectError(await post({ person_id: stranger, category: 'close' }), 404, 'not_found', 'person_id');
  assert.equal(await count(), before, 'nothing written');
  // Already under control: 409 naming the record.
  const first = await control(srv, community, { person_id: p, category: 'secondary' });
  const again = expectError(await post({ person_id: p, category: 'close' }), 409, 'conflict', 'person_id');
  assert.match(again.message, new RegExp(`管控记录 ${first.id}`));
  assert.match(again.message_en, new RegExp(`control record ${first.id}`));
  assert.equal(await count(), before + 1);
});

test('the state machine: every allowed transition once, every other one refused naming both states', async () => {
  const mkActive = async (name, body = {}) => control(srv, community, { person_id: await mk(name), category: 'secondary', ...body });
  const act = (id, action, body, token = community) => srv.api('POST', `/api/v1/controls/${id}/${action}`, { token, body });
  // active → released (override: the days are not served), → transferred, → closed
  const a = await mkActive('状态甲');
  const rel = await act(a.id, 'release', { override: true, reason: '经专家组评估提前解除' }, command);
  assert.equal(rel.status, 200, rel.text);
  assert.equal(rel.json.status, 'released');
  assert.equal(rel.json.override, true);
  assert.equal(rel.json.ended_on, day(0));
  const b = await mkActive('状态乙');
  const tr = await act(b.id, 'transfer', { mode: 'central', reason: '转集中隔离' });
  assert.equal(tr.status, 200, tr.text);
  assert.equal(tr.json.from.status, 'transferred');
  assert.equal(tr.json.to.status, 'active');
  assert.equal(tr.json.to.mode, 'central');
  assert.equal(tr.json.to.previous_id, b.id);
  assert.equal(tr.json.to.chain_id, b.id, 'the chain keeps its history');
  assert.equal(tr.json.to.start_date, b.start_date);
  assert.equal(tr.json.to.end_date, b.end_date);
  const c = await mkActive('状态丙');
  const cl = await act(c.id, 'close', { reason: '转为确诊病例' });
  assert.equal(cl.status, 200, cl.text);
  assert.equal(cl.json.status, 'closed');
  assert.equal(cl.json.end_reason, '转为确诊病例');
  // Every transition out of a final state is refused, naming both states; nothing changes.
  const finals = { released: a, transferred: b, closed: c };
  const bodies = { release: { override: true, reason: '再次解除测试' }, transfer: { mode: 'home_monitoring', reason: '再转' }, close: { reason: '再关闭' } };
  const to = { release: 'released', transfer: 'transferred', close: 'closed' };
  for (const [state, rec] of Object.entries(finals)) {
    const version = (await srv.api('GET', `/api/v1/controls/${rec.id}`, { token: command })).json.version;
    for (const action of ['release', 'transfer', 'close']) {
      const e = expectError(await act(rec.id, action, bodies[action], command), 409, 'conflict', 'status', `${state} → ${action}`);
      assert.match(e.message_en, new RegExp(`is ${state}: it cannot become ${to[action]}`));
    }
    assert.equal((await srv.api('GET', `/api/v1/controls/${rec.id}`, { token: command })).json.version, version, `${state} unchanged`);
  }
  // The history of the transferred chain, in order.
  const h = await srv.api('GET', `/api/v1/controls/${tr.json.to.id}/history`, { token: community });
  assert.deepEqual(h.json.items.map((x) => [x.action, x.from_status, x.to_status]),
    [['open', null, 'active'], ['transfer', 'active', 'transferred'], ['transfer_in', 'transferred', 'active']]);
  assert.match(h.json.items[0].at_text, ISO);
  // A transfer must change something, and needs a reason; override needs its right and a reason.
  const d = await mkActive('状态丁');
  expectError(await act(d.id, 'transfer', { mode: 'home_isolation', reason: '无变化' }), 422, 'validation_failed', 'mode');
  expectError(await act(d.id, 'transfer', { mode: 'central' }), 422, 'required', 'reason');
  expectError(await act(d.id, 'close', {}), 422, 'required', 'reason');
  expectError(await act(d.id, 'release', { override: true, reason: '想提前' }), 403, 'forbidden', 'override');
  expectError(await act(d.id, 'release', { override: true }, command), 422, 'required', 'reason');
  expectError(await act(d.id, 'release', {}), 409, 'conflict', 'end_date');
  expectError(await act(d.id, 'release', { date: day(1) }), 422, 'validation_failed', 'date');
  expectError(await act(d.id, 'release', {}, gridworker), 403, 'forbidden');
  expectError(await act(d.id, 'transfer', { grid_id: 99999999, reason: '迁出' }), 404, 'not_found', 'grid_id');
});

// A NAT sample on a day of a record, with its result.
const sample = (id, date, result = 'negative', token = gridworker) =>
  srv.api('POST', `/api/v1/controls/${id}/checks`, { token, body: { at: at(date), temperature: 36.6, nat_sampled: true, nat_result: result } });

test('release per preset: the days served and the preset\'s NAT days negative', async () => {
  const release = (id, body = {}) => srv.api('POST', `/api/v1/controls/${id}/release`, { token: community, body });
  // 第九版 密接: 7 days central + 3 home monitoring, NAT on days 1, 2, 3, 5, 7 and 10.
  const v9 = await control(srv, community, { person_id: await mk('第九版甲'), category: 'close', preset: 'v9', start_date: day(-12) });
  assert.equal(v9.end_date, day(-3));
  for (const n of [1, 2, 3, 5, 7]) assert.equal((await sample(v9.id, day(-13 + n))).status, 201);
  const missing = expectError(await release(v9.id), 409, 'conflict', 'nat');
  assert.match(missing.message_en, /day\(s\) 10/);
  const cond = await srv.api('GET', `/api/v1/controls/${v9.id}/conditions`, { token: gridworker });
  assert.equal(cond.status, 200, cond.text);
  assert.equal(cond.json.ready, false);
  assert.equal(cond.json.days_served, true);
  assert.deepEqual(cond.json.nat_missing, [10]);
  assert.deepEqual(cond.json.nat.map((x) => [x.day_no, x.result]), [[1, 'negative'], [2, 'negative'], [3, 'negative'], [5, 'negative'], [7, 'negative'], [10, 'missing']]);
  // The last sample arrives without its result, which comes later.
  const last = await sample(v9.id, day(-3), 'pending');
  assert.equal(last.status, 201, last.text);
  expectError(await release(v9.id), 409, 'conflict', 'nat');
  const res = await srv.api('POST', `/api/v1/checks/${last.json.id}/result`, { token: gridworker, body: { result: 'negative' } });
  assert.equal(res.status, 200, res.text);
  expectError(await srv.api('POST', `/api/v1/checks/${last.json.id}/result`, { token: gridworker, body: { result: 'positive' } }),
    409, 'conflict', 'result');
  const done = await release(v9.id);
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.status, 'released');
  assert.equal(done.json.override, false);
  assert.equal(done.json.conditions.ready, true);

  // 第八版 密接: 14 + 7 days; NAT on days 1, 4, 7, 14 and days 2, 7 of monitoring (16, 21).
  const early = await control(srv, community, { person_id: await mk('第八版乙'), category: 'close', preset: 'v8', start_date: day(-10) });
  expectError(await release(early.id), 409, 'conflict', 'end_date');
  const v8 = await control(srv, community, { person_id: await mk('第八版丙'), category: 'close', preset: 'v8', start_date: day(-22) });
  assert.deepEqual(v8.nat_days.map((d) => d.day_no), [1, 4, 7, 14, 16, 21]);
  for (const n of [1, 4, 7, 14, 16, 21]) assert.equal((await sample(v8.id, day(-23 + n))).status, 201);
  assert.equal((await release(v8.id, { date: day(-1) })).status, 200);

  // 二十条 密接: 5 days central + 3 at home; a positive result blocks the release and raises an alert.
  const tw = await control(srv, community, { person_id: await mk('二十条丁'), category: 'close', preset: 'twenty', start_date: day(-9) });
  assert.deepEqual(tw.nat_days.map((d) => d.day_no), [1, 2, 3, 5, 6, 8]);
  for (const n of [1, 2, 3, 5, 6]) assert.equal((await sample(tw.id, day(-10 + n))).status, 201);
  const pos = await sample(tw.id, day(-2), 'positive');
  assert.equal(pos.status, 201, pos.text);
  assert.equal(pos.json.alerts.length, 1);
  const alert = await srv.api('GET', `/api/v1/alerts/${pos.json.alerts[0]}`, { token: community });
  assert.equal(alert.json.kind, 'positive');
  expectError(await release(tw.id), 409, 'conflict', 'nat');
  // 二十条 does not determine 次密接: given mode and dates, only the days count.
  const sec = await control(srv, community, { person_id: await mk('二十条戊'), category: 'secondary', preset: 'twenty', mode: 'home_monitoring',
    start_date: day(-5), end_date: day(-1) });
  assert.equal((await release(sec.id)).status, 200);
});

test('checks: temperature, symptoms, samples; alerts raised, addressed to the team, climbing the tree, handled with a note', async () => {
  const c = await control(srv, community, { person_id: await mk('监测甲'), category: 'secondary' });
  const check = (body, token = gridworker) => srv.api('POST', `/api/v1/controls/${c.id}/checks`, { token, body });
  const counted = async () => (await srv.api('GET', `/api/v1/controls/${c.id}/checks`, { token: gridworker })).json.total;
  expectError(await check({ temperature: 33.9 }), 422, 'validation_failed', 'temperature');
  expectError(await check({ temperature: 43.1 }), 422, 'validation_failed', 'temperature');
  expectError(await check({ temperature: '37' }), 422, 'validation_failed', 'temperature');
  expectError(await check({ symptoms: ['头晕'] }), 422, 'validation_failed', 'symptoms');
  expectError(await check({}), 422, 'required', 'temperature');
  expectError(await check({ temperature: 36.5, at: '2022-04-15 08:00' }), 422, 'validation_failed', 'at');
  expectError(await check({ temperature: 36.5, at: at(day(-1)) }), 422, 'validation_failed', 'at');
  expectError(await check({ nat_result: 'negative' }), 422, 'validation_failed', 'nat_result');
  expectError(await check({ temperature: 36.5 }, volunteer), 403, 'forbidden');
  assert.equal(await counted(), 0, 'nothing written');
  // Early today, typed as local time: 00:30, or midnight itself when the test runs before 00:31.
  const early = Math.min(at(day(0), 0.5), Math.max(at(day(0), 0), now() - 60));
  const earlyText = new Date((early + 8 * 3600) * 1000).toISOString().slice(0, 19) + '+08:00';
  const normal = await check({ temperature: 37.2, at: earlyText, symptoms: [] });
  assert.equal(normal.status, 201, normal.text);
  assert.deepEqual(normal.json.alerts, []);
  assert.equal(normal.json.temperature, 37.2);
  assert.equal(normal.json.at, early);
  assert.equal(normal.json.at_text, earlyText);
  assert.equal(normal.json.day_no, 1);
  const fever = await check({ temperature: 37.3 });
  assert.equal(fever.json.fever, true);
  assert.equal(fever.json.alerts.length, 1, '37.3 °C is a fever');
  const sym = await check({ symptoms: ['干咳', 'fatigue'] });
  assert.deepEqual(sym.json.symptoms, ['dry_cough', 'fatigue']);
  assert.equal(sym.json.alerts.length, 1);
  const a = await srv.api('GET', `/api/v1/alerts/${sym.json.alerts[0]}`, { token: gridworker });
  assert.equal(a.json.kind, 'symptom');
  assert.match(a.json.detail, /干咳、乏力/);

  // Escalation: one level per interval while nobody handles it (the interval is a setting).
  const settings = (body) => srv.api('PATCH', '/api/v1/control/settings', { token: command, body });
  expectError(await settings({ alert_escalate_seconds: 0 }), 422, 'validation_failed', 'alert_escalate_seconds');
  expectError(await srv.api('PATCH', '/api/v1/control/settings', { token: community, body: { alert_escalate_seconds: 2 } }), 403, 'forbidden');
  assert.equal((await settings({ alert_escalate_seconds: 2 })).status, 200);
  const other = await user(srv, command, 'shequ.er', 'community', DEMO.community);   // no duty: not on the team
  const raised = (await check({ temperature: 38.6 })).json.alerts[0];
  const mine = async (token) => (await srv.api('GET', '/api/v1/alerts?mine=1&limit=1000', { token })).json.items.map((x) => x.id);
  assert.ok((await mine(gridworker)).includes(raised), 'the team (网格员) has it at once');
  const first = (await srv.api('GET', `/api/v1/alerts/${raised}`, { token: command })).json;
  if (first.level === 0) assert.ok(!(await mine(other.token)).includes(raised), 'not yet at the community');
  assert.ok(await poll(async () => (await mine(other.token)).includes(raised), 8000), 'climbed to the community');
  const climbed = (await srv.api('GET', `/api/v1/alerts/${raised}`, { token: command })).json;
  assert.ok(climbed.level >= 1);
  assert.ok(await poll(async () => (await mine(command)).includes(raised), 12000), 'climbed to the county');
  const top = (await srv.api('GET', `/api/v1/alerts/${raised}`, { token: command })).json;
  assert.equal(top.level, 3);
  assert.equal(top.escalated_to, DEMO.county);
  // Handled with a note: off every inbox, stays in the lists.
  expectError(await srv.api('POST', `/api/v1/alerts/${raised}/handle`, { token: gridworker, body: {} }), 422, 'required', 'note');
  const h = await srv.api('POST', `/api/v1/alerts/${raised}/handle`, { token: gridworker, body: { note: '已上门复测 37.1℃,电话报告社区医生' } });
  assert.equal(h.status, 200, h.text);
  assert.equal(h.json.status, 'handled');
  assert.match(h.json.handled_at_text, ISO);
  assert.ok(!(await mine(command)).includes(raised));
  expectError(await srv.api('POST', `/api/v1/alerts/${raised}/handle`, { token: gridworker, body: { note: '再次' } }), 409, 'conflict', 'status');
  expectError(await srv.api('POST', `/api/v1/alerts/${raised}/close`, { token: gridworker, body: { note: '关闭' } }), 403, 'forbidden');
  const closed = await srv.api('POST', `/api/v1/alerts/${raised}/close`, { token: community, body: { note: '复测正常,解除预警' } });
  assert.equal(closed.json.status, 'closed');
  assert.equal(closed.json.level, top.level, 'the level it reached stays');
  const handledList = await srv.api('GET', `/api/v1/alerts?status=closed&control_id=${c.id}`, { token: community });
  assert.deepEqual(handledList.json.items.map((x) => x.id), [raised]);
  expectError(await srv.api('GET', '/api/v1/alerts?status=done', { token: community }), 400, 'bad_query', 'status');
  assert.equal((await settings({ alert_escalate_seconds: 1800 })).status, 200);
  // A closed record takes no more checks.
  await srv.api('POST', `/api/v1/controls/${c.id}/close`, { token: community, body: { reason: '录入错误' } });
  expectError(await check({ temperature: 36.5 }), 409, 'conflict', 'status');
});

test('the worklist on a hand-made tree: checks owed, NAT days, releases due, alerts, in each one\'s scope', async () => {
  const street = DEMO.street;
  const cx = await node(srv, command, street, 'community', '清单社区');
  const ga = await node(srv, command, cx, 'grid', '甲网格');
  const gb = await node(srv, command, cx, 'grid', '乙网格');
  const wa = await user(srv, command, 'qingdan.jia', 'grid_worker', ga);
  const wb = await user(srv, command, 'qingdan.yi', 'grid_worker', gb);
  const cu = await user(srv, command, 'qingdan.shequ', 'community', cx);
  const pa1 = await person(srv, command, ga, '清单甲一'), pa2 = await person(srv, command, ga, '清单甲二'), pb1 = await person(srv, command, gb, '清单乙一');
  const a1 = await control(srv, cu.token, { person_id: pa1, category: 'close', start_date: day(-1) });          // day 2: a NAT day
  const a2 = await control(srv, cu.token, { person_id: pa2, category: 'secondary', start_date: day(-3) });      // day 4: a NAT day
  const b1 = await control(srv, cu.token, { person_id: pb1, category: 'spatiotemporal', start_date: day(-2) }); // day 3 = its end
  const list = async (token, q = '') => {
    const r = await srv.api('GET', `/api/v1/worklist${q}`, { token });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  const ids = (l) => l.items.map((x) => x.control_id).sort((x, y) => x - y);
  let w = await list(wa.token);
  assert.equal(w.date, day(0));
  assert.deepEqual(ids(w.checks), [a1.id, a2.id]);
  assert.deepEqual(w.checks.items.map((x) => [x.checks_done, x.checks_due]), [[0, 2], [0, 2]]);
  assert.deepEqual(ids(w.nat), [a1.id, a2.id]);
  assert.deepEqual(ids(w.releases), []);
  w = await list(wb.token);
  assert.deepEqual([ids(w.checks), ids(w.nat), ids(w.releases)], [[b1.id], [], [b1.id]]);
  w = await list(cu.token);
  assert.deepEqual([ids(w.checks), ids(w.nat), ids(w.releases)], [[a1.id, a2.id, b1.id], [a1.id, a2.id], [b1.id]]);
  assert.equal(w.checks.total, 3);
  // Work done leaves the list.
  const check = (id, body, token) => srv.api('POST', `/api/v1/controls/${id}/checks`, { token, body });
  assert.equal((await check(a1.id, { temperature: 36.4 }, wa.token)).status, 201);
  w = await list(wa.token);
  assert.deepEqual(w.checks.items.find((x) => x.control_id === a1.id).checks_done, 1);
  assert.equal((await check(a1.id, { temperature: 36.5 }, wa.token)).status, 201);
  assert.equal((await check(a2.id, { nat_sampled: true, tube: 'T-0001' }, wa.token)).status, 201);
  w = await list(wa.token);
  assert.deepEqual(ids(w.checks), [a2.id]);
  assert.equal(w.nat.items.find((x) => x.control_id === a2.id).sampled, true);
  assert.equal(w.nat.items.find((x) => x.control_id === a1.id).sampled, false);
  // Another day: tomorrow a1 is on day 3 (a NAT day), a2 on day 5 (not).
  w = await list(wa.token, `?date=${day(1)}`);
  assert.deepEqual(ids(w.nat), [a1.id]);
  // A fever in grid 乙 is in 乙's worker's list (her level), not in 甲's.
  assert.equal((await check(b1.id, { temperature: 38.2 }, wb.token)).status, 201);
  assert.equal((await list(wb.token)).alerts.total, 1);
  assert.equal((await list(wa.token)).alerts.total, 0);
  expectError(await srv.api('GET', '/api/v1/worklist?date=2022-13-01', { token: wa.token }), 400, 'bad_query', 'date');
  expectError(await srv.api('GET', '/api/v1/worklist?day=1', { token: wa.token }), 400, 'bad_query', 'day');
  expectError(await srv.api('GET', '/api/v1/worklist', { token: volunteer }), 403, 'forbidden');
  // The tree's roll-up agrees with the tables, node by node.
  for (const n of [cx, ga, gb]) await rollupsAgree(srv, command, n, day(0));
  const r = await rollupsAgree(srv, cu.token, cx, day(0));
  assert.equal(r.controls.active, 3);
  assert.deepEqual([r.checks.due, r.checks.done, r.checks.missing, r.checks.fever], [6, 4, 2, 1]);
  assert.deepEqual([r.nat.due, r.nat.sampled, r.nat.not_sampled], [2, 1, 1]);
  assert.equal(r.alerts.open, 1);
});

test('a city\'s list of 53 次密接 imported: each row found by ID number or phone, the unmatched reported by row', async () => {
  const rows = [];
  const nameOf = (i) => `次密${'甲乙丙丁戊己庚辛壬癸'[i % 10]}${'子丑寅卯辰巳'[Math.floor(i / 10)]}`;
  for (let i = 0; i < 53; i++) {
    const s = ++seq;
    await person(srv, community, DEMO.grid, nameOf(i), { id_number: idNumber(s), phone: phone(s) });
    // Most rows carry the ID number; some only the phone, as city lists do.
    rows.push(i % 10 === 9 ? [i + 1, nameOf(i), '', phone(s)] : [i + 1, nameOf(i), idNumber(s), '']);
  }
  const unknown = [54, '查无此人', idNumber(9999), ''];
  const wrongName = [55, '张冠李戴', idNumber(seq), ''];
  const csv = (list) => '序号,姓名,身份证号,联系电话,来源\n' + list.map((r) => `${r.join(',')},市指挥部推送 2022-04-02`).join('\n') + '\n';
  const post = (list, q) => srv.api('POST', `/api/v1/controls/import${q}`, { token: community, raw: Buffer.from(csv(list)), headers: { 'content-type': 'text/csv' } });
  const total = async () => (await srv.api('GET', '/api/v1/controls?category=secondary&limit=1', { token: community })).json.total;
  const before = await total();
  // All or nothing: the unmatched rows are named, nothing is kept.
  const all = await post([...rows, unknown, wrongName], '?category=secondary');
  assert.equal(all.status, 422, all.text);
  assert.equal(all.json.inserted, 0);
  assert.deepEqual(all.json.errors.map((e) => [e.row, e.field]), [[55, 'id_number'], [56, 'person_name']]);
  assert.match(all.json.errors[0].message, /未找到此人/);
  assert.match(all.json.errors[1].message_en, /differs from the registry/);
  assert.equal(await total(), before);
  // The same file as a background job: the list's category goes with it.
  const job = await post([...rows, unknown, wrongName], '?category=secondary&async=1&dry_run=1');
  assert.equal(job.status, 202, job.text);
  assert.match(job.json.started_at_text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$/);
  const done = await poll(async () => {
    const j = await srv.api('GET', `/api/v1/jobs/${job.json.id}`, { token: community });
    return j.json.status === 'running' ? null : j.json;
  }, 10000);
  assert.equal(done.status, 'done', JSON.stringify(done));
  assert.ok(done.finished_at_text);
  assert.deepEqual(done.result.errors.map((e) => [e.row, e.field]), [[55, 'id_number'], [56, 'person_name']], JSON.stringify(done.result));
  assert.equal(done.result.good, 53);
  assert.equal(await total(), before);
  // ?partial=1 keeps the 53 and reports the 2.
  const part = await post([...rows, unknown, wrongName], '?category=secondary&partial=1');
  assert.equal(part.status, 200, part.text);
  assert.equal(part.json.inserted, 53);
  assert.equal(part.json.errors.length, 2);
  assert.equal(await total(), before + 53);
  const some = await srv.api('GET', '/api/v1/controls?category=secondary&limit=1000', { token: community });
  const imported = some.json.items.filter((x) => x.source === '市指挥部推送 2022-04-02');
  assert.equal(imported.length, 53);
  assert.ok(imported.every((x) => x.mode === 'home_isolation' && x.preset === 'v9' && x.team.length === 5));
  // Again: every row is already under control, each reported with its record.
  const again = await post(rows.slice(0, 3), '?category=secondary&partial=1');
  assert.deepEqual(again.json.errors.map((e) => [e.row, e.field]), [[2, 'person_id'], [3, 'person_id'], [4, 'person_id']]);
  assert.match(again.json.errors[0].message, /已在管控中\(管控记录 \d+\)/);
  // A category the rows do not give and the query does not either.
  const none = await post([rows[0]], '');
  assert.equal(none.status, 422);
  assert.equal(none.json.errors[0].field, 'category');
  // The export reads in the office's words.
  const sheet = await srv.api('GET', '/api/v1/controls/export?category=secondary', { token: community });
  assert.equal(sheet.status, 200, sheet.text);
  const lines = sheet.text.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.match(lines[0], /人员编号,姓名,所属网格,管控类别,管控方式,状态/);
  assert.ok(lines.some((l) => l.includes(',次密接,居家隔离,在管,')));
});

test('the whole way: trace → apply with open_controls → records under the case\'s preset → checks → release', async () => {
  const names = ['病例甲', '同店乙', '同店丙', '次密丁'];
  const p = {};
  for (const n of names) p[n] = await person(srv, community, DEMO.grid, `全程${n}`);
  const venue = (await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '全程超市', kind: 'market' } })).json;
  const other = (await srv.api('POST', '/api/v1/venues', { token: community, body: { grid_id: DEMO.grid, name: '全程药店', kind: 'pharmacy' } })).json;
  // The whole drill on one local day: its scans span two hours before t, so in the first
  // hours after midnight it ends a minute before midnight instead of now.
  const sinceMidnight = (now() + OFFSET) % 86400;
  const t = sinceMidnight >= 7500 ? now() : now() - sinceMidnight - 60;
  const scans = [[venue, '病例甲', t - 7200, t - 5400], [venue, '同店乙', t - 6600, t - 4800], [venue, '同店丙', t - 5300, t - 4000],
    [other, '同店乙', t - 4500, t - 3600], [other, '次密丁', t - 4200, t - 3300]];
  for (const [v, n, tin, tout] of scans)
    assert.equal((await srv.api('POST', '/api/v1/scans', { token: command, body: { venue_code: v.code, person_id: p[n], t_in: tin, t_out: tout } })).status, 201);
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: p['病例甲'], onset_at: t - 3600, preset: 'v9' } });
  assert.equal(c.status, 201, c.text);
  const traced = await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: command });
  assert.deepEqual([traced.json.close, traced.json.secondary], [2, 1]);

  // The county shortens 第九版 for this drill: version 2 (records keep the version they were opened under).
  const v9 = (await srv.api('GET', '/api/v1/presets', { token: command })).json.items.find((x) => x.code === 'v9');
  const drill = JSON.parse(JSON.stringify(v9.rules));
  drill.categories.close = { phases: [{ mode: 'central', days: 1, nat_days: [1] }] };
  drill.categories.secondary = { phases: [{ mode: 'home_isolation', days: 1, nat_days: [1] }] };
  const edited = await srv.api('PUT', `/api/v1/presets/${v9.id}`, { token: command, body: { rules: drill, note: '演练' } });
  assert.equal(edited.json.active_version, 2);

  // A bad option fails the whole apply: nothing is written.
  expectError(await srv.api('POST', `/api/v1/cases/${c.json.id}/apply`, { token: command, body: { open_controls: 'yes' } }),
    422, 'validation_failed', 'open_controls');
  assert.equal((await srv.api('GET', `/api/v1/cases/${c.json.id}`, { token: command })).json.status, 'traced');
  assert.equal((await srv.api('GET', `/api/v1/controls?case_id=${c.json.id}`, { token: command })).json.total, 0);
  const applied = await srv.api('POST', `/api/v1/cases/${c.json.id}/apply`, { token: command, body: { open_controls: true } });
  assert.equal(applied.status, 200, applied.text);
  assert.deepEqual(applied.json.controls, { opened: 3, already: 0, skipped: { not_in_preset: 0, outside_scope: 0 }, preset: 'v9', preset_version: 2 });
  assert.deepEqual(applied.json.communities.map((x) => [x.community_id, x.contacts]), [[DEMO.community, 3]]);
  const recs = (await srv.api('GET', `/api/v1/controls?case_id=${c.json.id}`, { token: gridworker })).json.items;
  assert.deepEqual(recs.map((r) => [r.person_id, r.category, r.mode]).sort(),
    [[p['同店乙'], 'close', 'central'], [p['同店丙'], 'close', 'central'], [p['次密丁'], 'secondary', 'home_isolation']].sort());
  assert.ok(recs.every((r) => r.preset_version === 2 && r.start_date === day(0, t - 4000) && r.end_date === r.start_date));
  assert.ok(recs.every((r) => r.source === `病例 ${c.json.id} 流调下发`));
  // Applying again opens nothing twice.
  const twice = await srv.api('POST', `/api/v1/cases/${c.json.id}/apply`, { token: command, body: { open_controls: true } });
  assert.equal(twice.json.controls.opened, 0);
  assert.equal(twice.json.controls.already, 3);

  // Day 1's round: a temperature and a negative sample each, then release. Day 1 is the day of
  // the last exposure, the day before today when the test runs just after midnight: the check
  // is dated then.
  for (const r of recs) {
    const ck = await srv.api('POST', `/api/v1/controls/${r.id}/checks`,
      { token: gridworker, body: { temperature: 36.4, nat_sampled: true, tube: `QC-${r.id}`, at: t - 4000 } });
    assert.equal(ck.status, 201, ck.text);
    expectError(await srv.api('POST', `/api/v1/controls/${r.id}/release`, { token: community, body: {} }), 409, 'conflict', 'nat');
    assert.equal((await srv.api('POST', `/api/v1/checks/${ck.json.id}/result`, { token: gridworker, body: { result: 'negative' } })).status, 200);
    const rel = await srv.api('POST', `/api/v1/controls/${r.id}/release`, { token: community, body: { reason: '期满且核酸阴性' } });
    assert.equal(rel.status, 200, rel.text);
    assert.equal(rel.json.status, 'released');
  }
  const history = await srv.api('GET', `/api/v1/controls/${recs[0].id}/history`, { token: community });
  assert.deepEqual(history.json.items.map((x) => x.action), ['open', 'release']);
  // 第九版 back as it was (version 3); the released records keep version 2.
  const back = await srv.api('PUT', `/api/v1/presets/${v9.id}`, { token: command, body: { rules: v9.rules, note: '演练结束' } });
  assert.equal(back.json.active_version, 3);
  assert.equal((await srv.api('GET', `/api/v1/controls/${recs[0].id}`, { token: command })).json.preset_version, 2);
  const r2 = await rollupsAgree(srv, command, DEMO.grid, day(0));
  assert.ok(r2.controls.on_day.released >= 3);
});

test('roll-ups: counters agree with the tables for every node and day; children and the export', async () => {
  for (const n of [DEMO.county, DEMO.street, DEMO.community, DEMO.grid])
    for (const d of [-23, -12, -9, -3, -1, 0, 1]) await rollupsAgree(srv, command, n, day(d));
  const r = await srv.api('GET', `/api/v1/controls/rollup?node=${DEMO.community}&children=1`, { token: community });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.node.id, DEMO.community);
  assert.equal(r.json.date, day(0));
  assert.ok(r.json.children.some((c) => c.node.id === DEMO.grid && c.controls.active === r.json.controls.active));
  assert.ok(r.json.controls.by_category.secondary >= 53);
  expectError(await srv.api('GET', `/api/v1/controls/rollup?node=${DEMO.county}`, { token: community }), 404, 'not_found', 'node');
  expectError(await srv.api('GET', '/api/v1/controls/rollup?date=yesterday', { token: community }), 400, 'bad_query', 'date');
  expectError(await srv.api('GET', '/api/v1/controls/rollup?source=cache', { token: community }), 400, 'bad_query', 'source');
  const sheet = await srv.api('GET', `/api/v1/controls/rollup/export?node=${DEMO.community}`, { token: community });
  assert.equal(sheet.status, 200, sheet.text);
  const lines = sheet.text.replace(/^\ufeff/, '').trim().split('\r\n');
  assert.match(lines[0], /^节点编号,节点,层级,日期,在管人数,密接,次密接/);
  assert.match(lines[1], new RegExp(`^${DEMO.community},[^,]+,社区,${day(0)},${r.json.controls.active},`));
  assert.ok(lines.length > 2, 'a row for each grid of the community');
  const xlsx = await fetch(`${srv.base}/api/v1/alerts/export?format=xlsx`, { headers: { authorization: `Bearer ${community}` } });
  assert.equal(xlsx.status, 200);
  assert.equal(Buffer.from(await xlsx.arrayBuffer()).subarray(0, 2).toString(), 'PK');
  const checks = await srv.api('GET', `/api/v1/checks/export?date=${day(0)}`, { token: community });
  assert.match(checks.text.replace(/^\ufeff/, ''), /^记录编号,管控记录,人员编号,姓名,日期,管控第几天,时间,体温\(℃\),发热,症状/);
  assert.ok(checks.text.includes('干咳、乏力'), 'symptoms in the preset\'s words');
});

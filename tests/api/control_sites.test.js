'use strict';
// Control lists in the field: isolation sites (rooms, batches, intake and
// discharge, occupancy, staff), a mass NAT round (points, slots, samples by
// scanned code, who is not sampled yet while samples arrive), and door
// sensors (consent, keys, signed events, refused replays and forgeries).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { startServer, DEMO } = require('./helpers');
const { expectError } = require('./expect');
const { idNumber, now, day, at, person, control, node, user, rollupsAgree } = require('./control_util');

let srv, command, community, gridworker, volunteer;

before(async () => {
  srv = await startServer();
  [command, community, gridworker, volunteer] = await Promise.all(['command', 'community', 'gridworker', 'volunteer'].map((u) => srv.login(u)));
});
after(async () => { await srv.stop(); });

test('a site: rooms and capacity, batches, intake and discharge tied to records, occupancy per day, staff on duty', async () => {
  const site = await srv.api('POST', '/api/v1/sites', { token: community, body: { grid_id: DEMO.community, name: '兴阜宾馆隔离点', kind: 'central', phone: '0515-87212345' } });
  assert.equal(site.status, 201, site.text);
  assert.equal(site.json.capacity, 0);
  const id = site.json.id;
  expectError(await srv.api('POST', '/api/v1/sites', { token: gridworker, body: { grid_id: DEMO.grid, name: 'x', kind: 'central' } }), 403, 'forbidden');
  expectError(await srv.api('POST', '/api/v1/sites', { token: community, body: { grid_id: DEMO.grid, name: 'x', kind: 'hotel' } }), 422, 'validation_failed', 'kind');
  const rooms = await srv.api('PUT', `/api/v1/sites/${id}/rooms`, { token: community, body: { rooms: [{ room_no: '101', beds: 1 }, { room_no: '102', beds: 2 }] } });
  assert.equal(rooms.status, 200, rooms.text);
  const [r101, r102] = rooms.json.items.map((x) => x.id);
  expectError(await srv.api('PUT', `/api/v1/sites/${id}/rooms`, { token: community, body: { rooms: [{ room_no: '103', beds: 0 }] } }), 422, 'validation_failed', 'rooms[0].beds');
  const b1 = await srv.api('POST', `/api/v1/sites/${id}/batches`, { token: community, body: { origin: '武汉返阜人员', expected: 3, arrived_at: at(day(-4), 8) } });
  assert.equal(b1.status, 201, b1.text);
  assert.equal(b1.json.batch_no, 1);
  assert.equal(b1.json.arrived_at_text, `${day(-4)}T08:00:00+08:00`);
  const b2 = await srv.api('POST', `/api/v1/sites/${id}/batches`, { token: community, body: { origin: '市指挥部转运' } });
  assert.equal(b2.json.batch_no, 2);

  const rec = async (name, category, start) => control(srv, community, { person_id: await person(srv, community, DEMO.grid, name), category, start_date: start });
  const a = await rec('隔离甲', 'close', day(-4)), b = await rec('隔离乙', 'close', day(-3)), c = await rec('隔离丙', 'close', day(-2));
  const d = await rec('隔离丁', 'secondary', day(-2)), e = await rec('隔离戊', 'close', day(-1));
  const intake = (body) => srv.api('POST', `/api/v1/sites/${id}/stays`, { token: community, body });
  const sa = await intake({ control_id: a.id, room_id: r101, batch_id: b1.json.id, at: at(day(-4), 10) });
  assert.equal(sa.status, 201, sa.text);
  assert.equal(sa.json.room_no, '101');
  assert.equal(sa.json.batch_no, 1);
  expectError(await intake({ control_id: b.id, room_id: r101, at: at(day(-3), 10) }), 409, 'conflict', 'room_id');
  assert.equal((await intake({ control_id: b.id, room_id: r102, batch_id: b1.json.id, at: at(day(-3), 10) })).status, 201);
  assert.equal((await intake({ control_id: c.id, room_id: r102, batch_id: b1.json.id, at: at(day(-2), 10) })).status, 201);
  expectError(await intake({ control_id: d.id }), 409, 'conflict', 'control_id');         // home isolation, not central
  expectError(await intake({ control_id: e.id }), 409, 'conflict');                         // the site is full: 3 beds
  expectError(await intake({ control_id: a.id, room_id: r102 }), 409, 'conflict', 'control_id');   // already staying
  expectError(await intake({ control_id: 99999999 }), 404, 'not_found', 'control_id');
  expectError(await intake({}), 422, 'required', 'control_id');
  const list = await srv.api('GET', '/api/v1/sites?kind=central', { token: community });
  const mine = list.json.items.find((x) => x.id === id);
  assert.deepEqual([mine.capacity, mine.occupied, mine.free], [3, 3, 0]);

  // 甲 leaves for home monitoring (a transfer), 乙 is released (the stay ends with the record).
  const out = await srv.api('POST', `/api/v1/stays/${sa.json.id}/discharge`, { token: community, body: { at: at(day(-1), 15), transfer_mode: 'home_monitoring', note: '期满转居家健康监测' } });
  assert.equal(out.status, 200, out.text);
  assert.equal(out.json.discharge_at, at(day(-1), 15));
  expectError(await srv.api('POST', `/api/v1/stays/${sa.json.id}/discharge`, { token: community, body: {} }), 409, 'conflict');
  const chain = await srv.api('GET', `/api/v1/controls?chain_id=${a.id}`, { token: community });
  assert.deepEqual(chain.json.items.map((x) => [x.status, x.mode]), [['transferred', 'central'], ['active', 'home_monitoring']]);
  assert.equal(chain.json.items[1].active_from, day(-1));
  const rb = await srv.api('POST', `/api/v1/controls/${b.id}/release`, { token: command, body: { override: true, reason: '专家组评估后解除' } });
  assert.equal(rb.status, 200, rb.text);
  const stays = await srv.api('GET', `/api/v1/sites/${id}/stays?current=1`, { token: community });
  assert.deepEqual(stays.json.items.map((x) => x.control_id), [c.id]);
  // Occupancy: who spent each night there, who came, who left.
  const occ = await srv.api('GET', `/api/v1/sites/${id}/occupancy?from=${day(-5)}&to=${day(0)}`, { token: community });
  assert.equal(occ.status, 200, occ.text);
  assert.equal(occ.json.capacity, 3);
  assert.deepEqual(occ.json.days.map((x) => [x.date, x.occupied, x.intakes, x.discharges, x.free]), [
    [day(-5), 0, 0, 0, 3], [day(-4), 1, 1, 0, 2], [day(-3), 2, 1, 0, 1], [day(-2), 3, 1, 0, 0], [day(-1), 2, 0, 1, 1], [day(0), 1, 0, 1, 2]]);
  expectError(await srv.api('GET', `/api/v1/sites/${id}/occupancy?from=${day(0)}&to=${day(-1)}`, { token: community }), 400, 'bad_query', 'to');
  expectError(await srv.api('GET', `/api/v1/sites/${id}/occupancy?from=${day(-100)}`, { token: community }), 400, 'bad_query', 'from');
  // Staff on duty by dates.
  const staff = (body) => srv.api('POST', `/api/v1/sites/${id}/staff`, { token: community, body });
  assert.equal((await staff({ name: '王医生', duty: '医护', from: day(-3), to: day(3), phone: '13912345678' })).status, 201);
  assert.equal((await staff({ name: '临时党支部书记', duty: '临时党支部书记', from: day(1), to: day(5) })).status, 201);
  expectError(await staff({ name: '错', duty: '安保', from: day(2), to: day(1) }), 422, 'validation_failed', 'to');
  const duty = async (date) => (await srv.api('GET', `/api/v1/sites/${id}/staff?date=${date}`, { token: community })).json.items.map((x) => x.name);
  // A site hangs on its community: a grid worker below does not see it.
  expectError(await srv.api('GET', `/api/v1/sites/${id}`, { token: gridworker }), 404, 'not_found');
  assert.deepEqual(await duty(day(0)), ['王医生']);
  assert.deepEqual(await duty(day(2)), ['王医生', '临时党支部书记']);
  await rollupsAgree(srv, command, DEMO.grid, day(-1));
  await rollupsAgree(srv, command, DEMO.grid, day(0));
});

test('a mass NAT round: points and slots, samples by scanned code, the not-yet-sampled per grid while samples arrive', async () => {
  const cx = await node(srv, command, DEMO.street, 'community', '核酸社区');
  const g1 = await node(srv, command, cx, 'grid', '核酸一网格');
  const g2 = await node(srv, command, cx, 'grid', '核酸二网格');
  const old = new Date(Date.now() - 70 * 365.25 * 86400e3).toISOString().slice(0, 10);
  const p = [
    await person(srv, command, g1, '采样甲', { id_number: idNumber(501) }),
    await person(srv, command, g1, '采样乙', { phone: '13900001111' }),
    await person(srv, command, g1, '采样丙', { birth_date: old }),
    await person(srv, command, g2, '采样丁'),
    await person(srv, command, g2, '采样戊'),
  ];
  const outsider = await person(srv, command, DEMO.grid, '外网格己');
  const helper = await user(srv, command, 'caiyang.zhiyuan', 'volunteer', g1);
  const cu = await user(srv, command, 'hesuan.shequ', 'community', cx);
  const make = (body) => srv.api('POST', '/api/v1/nat-rounds', { token: cu.token, body });
  expectError(await make({ grid_id: cx, name: '错', date_from: day(1), date_to: day(0) }), 422, 'validation_failed', 'date_to');
  expectError(await make({ grid_id: cx, name: '错', date_from: day(0), date_to: day(20) }), 422, 'validation_failed', 'date_to');
  expectError(await make({ grid_id: DEMO.grid, name: '错', date_from: day(0), date_to: day(0) }), 404, 'not_found', 'grid_id');
  const round = await make({ grid_id: cx, name: '第二轮全员核酸', date_from: day(0), date_to: day(1) });
  assert.equal(round.status, 201, round.text);
  assert.deepEqual([round.json.residents, round.json.sampled, round.json.not_sampled], [5, 0, 5]);
  const rid = round.json.id;
  const pt = await srv.api('POST', `/api/v1/nat-rounds/${rid}/points`, { token: cu.token, body: { name: '社区广场', green_channel: true,
    slots: [{ from: `${day(0)}T08:00:00+08:00`, to: `${day(0)}T10:00:00+08:00`, grid_ids: [g1] }, { from: at(day(0), 10), to: at(day(0), 12), grid_ids: [g2] }] } });
  assert.equal(pt.status, 201, pt.text);
  assert.equal(pt.json.green_channel, true);
  assert.deepEqual(pt.json.slots.map((s) => [s.from_at.slice(11, 16), s.grid_ids]), [['08:00', [g1]], ['10:00', [g2]]]);
  expectError(await srv.api('POST', `/api/v1/nat-rounds/${rid}/points`, { token: cu.token, body: { name: '错', slots: [{ from: at(day(0), 8), to: at(day(0), 9), grid_ids: [DEMO.grid] }] } }),
    404, 'not_found', 'slots[0].grid_ids[0]');
  expectError(await srv.api('POST', `/api/v1/nat-rounds/${rid}/points`, { token: cu.token, body: { name: '错', slots: [{ from: at(day(5), 8), to: at(day(5), 9) }] } }),
    422, 'validation_failed', 'slots[0]');
  expectError(await srv.api('POST', `/api/v1/nat-rounds/${rid}/points`, { token: cu.token, body: { name: '错', slots: [{ from: '8点', to: at(day(0), 9) }] } }),
    422, 'validation_failed', 'slots[0].from');

  const progress = async (q = '') => (await srv.api('GET', `/api/v1/nat-rounds/${rid}/progress${q}`, { token: cu.token })).json;
  const unsampled = async (g, token = cu.token, q = '') => {
    const r = await srv.api('GET', `/api/v1/nat-rounds/${rid}/unsampled?grid=${g}${q}`, { token });
    assert.equal(r.status, 200, r.text);
    return r.json;
  };
  let pr = await progress();
  assert.deepEqual([pr.node_id, pr.residents, pr.sampled, pr.not_sampled], [cx, 5, 0, 5]);
  assert.deepEqual(pr.children.map((x) => [x.node_id, x.residents, x.not_sampled]), [[g1, 3, 3], [g2, 2, 2]]);
  assert.deepEqual((await unsampled(g1)).items.map((x) => x.person_id), p.slice(0, 3));
  assert.deepEqual((await unsampled(g1, cu.token, '&green=1')).items.map((x) => x.person_id), [p[2]], 'the old go to the green channel');
  assert.equal((await unsampled(g1)).items[1].phone, '139****1111', 'phones masked');

  const scan = (code, token = helper.token, extra = {}) => srv.api('POST', `/api/v1/nat-rounds/${rid}/samples`, { token, body: { code, point_id: pt.json.id, ...extra } });
  const s1 = await scan(`WG-PERSON:${p[0]}`);
  assert.equal(s1.status, 201, s1.text);
  assert.equal(s1.json.duplicate, false);
  assert.match(s1.json.sampled_at_text, /\+08:00$/);
  const again = await scan(`WG-PERSON:${p[0]}`);
  assert.equal(again.status, 200);
  assert.equal(again.json.duplicate, true);
  assert.equal(again.json.id, s1.json.id, 'a person is sampled once a round');
  // While samples arrive, the grid's count and list follow.
  pr = await progress(`?node=${g1}`);
  assert.deepEqual([pr.residents, pr.sampled, pr.not_sampled], [3, 1, 2]);
  assert.equal((await scan(idNumber(501))).status, 200, 'the same person by ID card: still one sample');
  assert.equal((await scan(String(p[2]), helper.token, { channel: 'green' })).status, 201);
  assert.deepEqual((await unsampled(g1)).items.map((x) => x.person_id), [p[1]]);
  pr = await progress(`?node=${g1}`);
  assert.deepEqual([pr.residents, pr.sampled, pr.not_sampled], [3, 2, 1]);
  // A person of another grid of the round: the sampler at the point records her too.
  assert.equal((await scan(`WG-PERSON:${p[3]}`)).status, 201);
  pr = await progress();
  assert.deepEqual([pr.sampled, pr.not_sampled], [3, 2]);
  assert.deepEqual(pr.children.map((x) => [x.node_id, x.sampled, x.not_sampled]), [[g1, 2, 1], [g2, 1, 1]]);
  // Refused precisely, nothing written.
  const e1 = expectError(await scan(`WG-PERSON:${outsider}`), 422, 'validation_failed', 'code');
  assert.match(e1.message_en, /outside the subtree of round/);
  expectError(await scan('WG-PERSON:99999999'), 404, 'not_found', 'code');
  expectError(await scan('not a code'), 422, 'validation_failed', 'code');
  expectError(await scan(`WG-PERSON:${p[1]}`, helper.token, { channel: 'vip' }), 422, 'validation_failed', 'channel');
  expectError(await scan(`WG-PERSON:${p[1]}`, helper.token, { at: at(day(3), 9) }), 409, 'conflict', 'at');
  expectError(await scan(`WG-PERSON:${p[1]}`, gridworker), 404, 'not_found');   // another community's worker
  expectError(await srv.api('GET', `/api/v1/nat-rounds/${rid}/unsampled?grid=${g2}`, { token: helper.token }), 403, 'forbidden');   // names and addresses: PERSON_READ
  expectError(await srv.api('GET', `/api/v1/nat-rounds/${rid}/unsampled?grid=${g2}`, { token: gridworker }), 404, 'not_found');
  pr = await progress();
  assert.deepEqual([pr.sampled, pr.not_sampled], [3, 2], 'the refused left nothing');
  // The round in the roll-up of its community and of the county.
  const r = await srv.api('GET', `/api/v1/controls/rollup?node=${g1}`, { token: command });
  assert.deepEqual(r.json.rounds.map((x) => [x.round_id, x.residents, x.sampled, x.not_sampled]), [[rid, 3, 2, 1]]);
  const county = await srv.api('GET', `/api/v1/controls/rollup?node=${DEMO.county}`, { token: command });
  assert.ok(county.json.rounds.some((x) => x.round_id === rid && x.not_sampled === 2));
  // Newly registered residents join the count on refresh; a closed round takes no samples.
  await person(srv, command, g2, '新来庚');
  const fresh = await srv.api('POST', `/api/v1/nat-rounds/${rid}/refresh`, { token: cu.token });
  assert.equal(fresh.status, 200, fresh.text);
  assert.deepEqual([fresh.json.residents, fresh.json.sampled], [6, 3]);
  const closed = await srv.api('PATCH', `/api/v1/nat-rounds/${rid}`, { token: cu.token, body: { status: 'closed' } });
  assert.equal(closed.status, 200, closed.text);
  expectError(await scan(`WG-PERSON:${p[4]}`), 409, 'conflict');
});

test('samples that arrive together are stored together, and each gets its own answer', async () => {
  const cx = await node(srv, command, DEMO.street, 'community', '同批社区');
  const g1 = await node(srv, command, cx, 'grid', '同批一网格');
  const g2 = await node(srv, command, cx, 'grid', '同批二网格');
  const names = ['同批甲', '同批乙', '同批丙', '同批丁', '同批戊', '同批己', '同批庚', '同批辛'];
  const ps = [];
  for (let i = 0; i < 8; i++) ps.push(await person(srv, command, i < 5 ? g1 : g2, names[i], i === 0 ? { id_number: idNumber(777) } : {}));
  const outsider = await person(srv, command, DEMO.grid, '同批外人');
  const cu = await user(srv, command, 'tongpi.shequ', 'community', cx);
  const open = async (name) => {
    const r = await srv.api('POST', '/api/v1/nat-rounds', { token: cu.token, body: { grid_id: cx, name, date_from: day(0), date_to: day(0) } });
    assert.equal(r.status, 201, r.text);
    const pt = await srv.api('POST', `/api/v1/nat-rounds/${r.json.id}/points`, { token: cu.token, body: { name: `${name}采样点`, slots: [{ from: at(day(0), 8), to: at(day(0), 9) }] } });
    assert.equal(pt.status, 201, pt.text);
    return [r.json.id, pt.json.id];
  };
  const [rid, pt] = await open('同批检测');
  const [, otherPt] = await open('另一轮检测');
  const scan = (body) => srv.api('POST', `/api/v1/nat-rounds/${rid}/samples`, { token: cu.token, body });
  const tube = 'T"7\\1';
  const [first, byId, tubed, out, unknown, wrongPoint, ...rest] = await Promise.all([
    scan({ code: `WG-PERSON:${ps[0]}` }),
    scan({ code: idNumber(777) }),                          // the same person by ID card
    scan({ code: `WG-PERSON:${ps[1]}`, point_id: pt, tube }),
    scan({ code: `WG-PERSON:${outsider}` }),
    scan({ code: 'WG-PERSON:99999999' }),
    scan({ code: `WG-PERSON:${ps[2]}`, point_id: otherPt }),
    ...ps.slice(3).map((p) => scan({ code: String(p), channel: 'door' })),
  ]);
  // One of the two samples of the same person is stored, the other answers with it.
  assert.deepEqual([first.status, byId.status].sort(), [200, 201], `${first.text} ${byId.text}`);
  assert.equal(first.json.id, byId.json.id);
  assert.deepEqual([first.json.duplicate, byId.json.duplicate].sort(), [false, true]);
  assert.equal(byId.json.person_id, ps[0]);
  assert.equal(tubed.status, 201, tubed.text);
  assert.deepEqual([tubed.json.person_id, tubed.json.point_id, tubed.json.tube, tubed.json.name], [ps[1], pt, tube, '同批乙']);
  const e1 = expectError(out, 422, 'validation_failed', 'code');
  assert.match(e1.message_en, /outside the subtree of round '同批检测'/);
  assert.match(e1.message, /不在本轮检测“同批检测”的范围内/);
  expectError(unknown, 404, 'not_found', 'code');
  expectError(wrongPoint, 422, 'validation_failed', 'point_id');
  assert.deepEqual(rest.map((r) => [r.status, r.json.person_id, r.json.channel, r.json.duplicate]), ps.slice(3).map((p) => [201, p, 'door', false]));
  assert.equal(new Set([first.json.id, tubed.json.id, ...rest.map((r) => r.json.id)]).size, 7, 'a sample id each');
  // Counted once per stored sample, per grid and above; the refused left nothing.
  const pr = (await srv.api('GET', `/api/v1/nat-rounds/${rid}/progress`, { token: cu.token })).json;
  assert.deepEqual([pr.residents, pr.sampled, pr.not_sampled], [8, 7, 1]);
  assert.deepEqual(pr.children.map((x) => [x.node_id, x.sampled, x.not_sampled]), [[g1, 4, 1], [g2, 3, 0]]);
  // Scanned again together: every one answers with its first sample.
  const again = await Promise.all(ps.map((p) => scan({ code: `WG-PERSON:${p}` })));
  assert.deepEqual(again.map((r) => r.status), [200, 200, 201, 200, 200, 200, 200, 200]);
  assert.equal(again[1].json.tube, tube);
  assert.equal(again[3].json.channel, 'door');
  assert.equal((await srv.api('GET', `/api/v1/nat-rounds/${rid}/progress`, { token: cu.token })).json.sampled, 8);
});

test('samples sent many at once: each answered with its own person, one person scanned at two doors at the same moment sampled once', async () => {
  const cx = await node(srv, command, DEMO.street, 'community', '并发核酸社区');
  const g = await node(srv, command, cx, 'grid', '并发核酸网格');
  const people = [];
  for (let i = 0; i < 40; i++) people.push(await person(srv, command, g, `并发${'甲乙丙丁戊己庚辛壬癸'[i % 10]}${'子丑寅卯'[Math.floor(i / 10)]}`));
  const cu = await user(srv, command, 'bingfa.shequ', 'community', cx);
  const round = await srv.api('POST', '/api/v1/nat-rounds', { token: cu.token, body: { grid_id: cx, name: '并发全员核酸', date_from: day(0), date_to: day(1) } });
  assert.equal(round.status, 201, round.text);
  const rid = round.json.id;
  const scan = (id) => srv.api('POST', `/api/v1/nat-rounds/${rid}/samples`, { token: cu.token, body: { code: `WG-PERSON:${id}`, tube: `T-${id}` } })
    .then((r) => ({ id, r }));
  // Every person twice, all at once (two doors scanning the same code).
  const answers = await Promise.all(people.flatMap((id) => [scan(id), scan(id)]));
  for (const { id, r } of answers) {
    assert.ok(r.status === 201 || r.status === 200, r.text);
    assert.equal(r.json.person_id, id, 'the answer is the one of this request');
    assert.equal(r.json.tube, `T-${id}`);
  }
  for (const id of people) {
    const two = answers.filter((a) => a.id === id).map((a) => a.r);
    assert.deepEqual(two.map((r) => r.status).sort(), [200, 201], `person ${id}: stored once, the other answered with it`);
    assert.equal(two[0].json.id, two[1].json.id);
  }
  const pr = (await srv.api('GET', `/api/v1/nat-rounds/${rid}/progress`, { token: cu.token })).json;
  assert.deepEqual([pr.residents, pr.sampled, pr.not_sampled], [40, 40, 0]);
});

const sign = (key, body) => `sha256=${crypto.createHmac('sha256', Buffer.from(key, 'hex')).update(body).digest('hex')}`;

test('door sensors: consent first, a key each, signed events stored once; replayed, forged and unknown ones refused', async () => {
  const hh = await srv.api('POST', '/api/v1/households', { token: community, body: { grid_id: DEMO.grid, address: '兴阜小区3号楼1单元502室' } });
  assert.equal(hh.status, 201, hh.text);
  const resident = await person(srv, community, DEMO.grid, '居家甲', { household_id: hh.json.id });
  const rec = await control(srv, community, { person_id: resident, category: 'secondary' });
  assert.equal(rec.mode, 'home_isolation');
  const register = (body) => srv.api('POST', '/api/v1/devices', { token: community, body });
  expectError(await register({ household_id: hh.json.id, kind: 'door_sensor', serial: 'MC-0001' }), 409, 'conflict', 'household_id');
  const consent = await srv.api('POST', '/api/v1/devices/consents', { token: community, body: { household_id: hh.json.id, signer: '居家甲', method: 'qr' } });
  assert.equal(consent.status, 201, consent.text);
  expectError(await srv.api('POST', '/api/v1/devices/consents', { token: community, body: { household_id: hh.json.id, signer: '居家甲', method: 'qr' } }), 409, 'conflict', 'household_id');
  expectError(await srv.api('POST', '/api/v1/devices/consents', { token: community, body: { household_id: 99999999, signer: 'x', method: 'qr' } }), 404, 'not_found', 'household_id');
  const dev = await register({ household_id: hh.json.id, kind: 'door_sensor', serial: 'MC-0001' });
  assert.equal(dev.status, 201, dev.text);
  assert.match(dev.json.key, /^[0-9a-f]{64}$/);
  const key = dev.json.key;
  expectError(await register({ household_id: hh.json.id, kind: 'door_sensor', serial: 'MC-0001' }), 409, 'conflict', 'serial');
  const listed = await srv.api('GET', `/api/v1/devices?household_id=${hh.json.id}`, { token: gridworker });
  assert.equal(listed.json.items[0].key, undefined, 'the key is shown once');

  const post = (body, signature) => srv.api('POST', '/api/v1/devices/events', { raw: body, headers: { 'content-type': 'application/json', ...(signature ? { 'x-wg-signature': signature } : {}) } });
  const event = (id, type = 'door_open', t = now()) => JSON.stringify({ device: 'MC-0001', event_id: id, type, at: t });
  const alerts = async () => (await srv.api('GET', `/api/v1/alerts?kind=door&control_id=${rec.id}`, { token: community })).json.total;
  const body = event('evt-1');
  const first = await post(body, sign(key, body));
  assert.equal(first.status, 201, first.text);
  assert.equal(first.json.alerts.length, 1, 'a door opened during home isolation');
  const alert = await srv.api('GET', `/api/v1/alerts/${first.json.alerts[0]}`, { token: gridworker });
  assert.equal(alert.json.kind, 'door');
  assert.match(alert.json.detail, /MC-0001/);
  const resent = await post(body, sign(key, body));
  assert.equal(resent.status, 200, resent.text);
  assert.deepEqual([resent.json.duplicate, resent.json.id, resent.json.alerts], [true, first.json.id, first.json.alerts]);
  assert.equal(await alerts(), 1, 'stored once, one alert');
  // Refused, each precisely, nothing written.
  const other = event('evt-1', 'door_close');
  expectError(await post(other, sign(key, other)), 409, 'conflict', 'event_id');
  expectError(await post(event('evt-2')), 401, 'unauthorized', 'X-WG-Signature');
  const forged = event('evt-3');
  expectError(await post(forged, sign(crypto.randomBytes(32).toString('hex'), forged)), 401, 'unauthorized', 'X-WG-Signature');
  expectError(await post(forged, sign(key, forged + ' ')), 401, 'unauthorized', 'X-WG-Signature');
  const stranger = JSON.stringify({ device: 'MC-9999', event_id: 'evt-4', type: 'door_open', at: now() });
  expectError(await post(stranger, sign(key, stranger)), 401, 'unauthorized', 'device');
  const stale = event('evt-5', 'door_open', now() - 3600);
  expectError(await post(stale, sign(key, stale)), 409, 'conflict', 'at');
  const bad = async (text, status, code, field) => expectError(await post(text, sign(key, text)), status, code, field);
  await bad('{"device":', 400, 'bad_json');
  await bad('[1]', 400, 'bad_json');
  await bad(JSON.stringify({ device: 'MC-0001', event_id: 'evt-6', type: 'door_open', at: now(), extra: 1 }), 422, 'validation_failed', 'extra');
  await bad(JSON.stringify({ device: 'MC-0001', event_id: 'evt 6', type: 'door_open', at: now() }), 422, 'validation_failed', 'event_id');
  await bad(JSON.stringify({ device: 'MC-0001', event_id: 'evt-6', type: 'smoke', at: now() }), 422, 'validation_failed', 'type');
  await bad(JSON.stringify({ device: 'MC-0001', event_id: 'evt-6', type: 'door_open', at: 'yesterday' }), 422, 'validation_failed', 'at');
  await bad(JSON.stringify({ device: { id: 'MC-0001' }, event_id: 'evt-6', type: 'door_open', at: now() }), 422, 'validation_failed');
  assert.equal(await alerts(), 1, 'no alert from any refused event');
  // An event in ISO time; a heartbeat raises nothing.
  const beat = JSON.stringify({ device: 'MC-0001', event_id: 'hb-1', type: 'heartbeat', at: new Date().toISOString() });
  const hb = await post(beat, sign(key, beat));
  assert.equal(hb.status, 201, hb.text);
  assert.deepEqual(hb.json.alerts, []);
  // What the device sent, newest first, with the alert the door raised.
  const sent = await srv.api('GET', `/api/v1/devices/${dev.json.id}/events`, { token: gridworker });
  assert.equal(sent.status, 200, sent.text);
  assert.deepEqual(sent.json.items.map((e) => [e.event_id, e.type]), [['hb-1', 'heartbeat'], ['evt-1', 'door_open']]);
  assert.deepEqual([sent.json.items[1].alert_id, sent.json.items[1].control_id], [first.json.alerts[0], rec.id]);
  assert.match(sent.json.items[0].at_text, /^\d{4}-\d\d-\d\dT.*\+08:00$/);
  assert.equal(sent.json.total, 2);
  expectError(await srv.api('GET', '/api/v1/devices/99999999/events', { token: gridworker }), 404, 'not_found');
  // A retired device is refused.
  assert.equal((await srv.api('POST', `/api/v1/devices/${dev.json.id}/retire`, { token: community, body: { note: '解除隔离,设备收回' } })).status, 200);
  const late = event('evt-7');
  expectError(await post(late, sign(key, late)), 403, 'forbidden', 'device');

  // The household takes its consent back: its devices are retired with it, a
  // new device needs a new consent, and consenting again is the same record.
  const dev2 = await register({ household_id: hh.json.id, kind: 'doorbell', serial: 'DB-0002' });
  assert.equal(dev2.status, 201, dev2.text);
  const withdraw = (body) => srv.api('POST', `/api/v1/devices/consents/${consent.json.id}/withdraw`, { token: community, body });
  expectError(await withdraw({}), 422, 'required', 'reason');
  expectError(await srv.api('POST', `/api/v1/devices/consents/${consent.json.id}/withdraw`, { token: gridworker, body: { reason: 'x' } }), 403, 'forbidden');
  const took = await withdraw({ reason: '住户要求撤回' });
  assert.equal(took.status, 200, took.text);
  assert.deepEqual([took.json.status, took.json.withdrawn_reason], ['withdrawn', '住户要求撤回']);
  assert.match(took.json.withdrawn_at_text, /\+08:00$/);
  expectError(await withdraw({ reason: '再次' }), 409, 'conflict', 'status');
  const bell = JSON.stringify({ device: 'DB-0002', event_id: 'db-1', type: 'door_open', at: now() });
  expectError(await post(bell, sign(dev2.json.key, bell)), 403, 'forbidden', 'device');
  const devs = await srv.api('GET', `/api/v1/devices?household_id=${hh.json.id}`, { token: community });
  assert.deepEqual(devs.json.items.map((d) => d.status), ['retired', 'retired']);
  expectError(await register({ household_id: hh.json.id, kind: 'door_sensor', serial: 'MC-0003' }), 409, 'conflict', 'household_id');
  const again = await srv.api('POST', '/api/v1/devices/consents', { token: community, body: { household_id: hh.json.id, signer: '居家甲', method: 'paper' } });
  assert.equal(again.status, 201, again.text);
  assert.deepEqual([again.json.id, again.json.status, again.json.method, again.json.withdrawn_at], [consent.json.id, 'active', 'paper', null]);
  assert.equal((await register({ household_id: hh.json.id, kind: 'door_sensor', serial: 'MC-0003' })).status, 201);
});

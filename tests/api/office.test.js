'use strict';
// A county office's daily work with its own files: the corrected roster sent
// again every week, uploads as browsers and `curl -F` send them, times people
// read and type, exports Excel opens as they should, and the small things an
// office trips on.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, DEMO } = require('./helpers');
const { expectError } = require('./expect');

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
function idNumber(region, birth, seq) {
  const body = `${region}${birth}${String(seq).padStart(3, '0')}`;
  const sum = [...body].reduce((s, d, i) => s + Number(d) * WEIGHTS[i], 0);
  return body + '10X98765432'[sum % 11];
}
const GRID1 = '32092300100100000001';
const SAMPLES = path.resolve(__dirname, '../../../shared/samples');

let srv, command, community, auditor;
before(async () => {
  srv = await startServer();
  command = await srv.login('command');
  community = await srv.login('community');
  auditor = await srv.login('auditor');
});
after(async () => { await srv.stop(); });

const upload = (p, body, token = command, type = 'text/csv') =>
  srv.api('POST', p, { token, raw: body, headers: { 'content-type': type } });
const HEADER = '姓名,性别,身份证号,联系电话,出生日期,现住址,网格编码,重点人群';

test('a roster sent again: each row found by ID number (or name, birth date and address), updated, unchanged or new', async () => {
  const a = idNumber('320923', '19550505', 200), b = idNumber('320923', '19880316', 131);
  const first = [HEADER,
    `王兰,女,${a},15890673441,1955-05-05,沟墩镇墩北1组1号,${GRID1},低保对象`,
    `李强,男,${b},13812345678,1988-03-16,沟墩镇墩北1组2号,${GRID1},`,
    `赵无证,男,,13900001111,1970-01-01,沟墩镇墩北1组3号,${GRID1},`].join('\n');
  const made = await upload('/api/v1/persons/import', first);
  assert.equal(made.status, 200, made.text);
  assert.equal(made.json.inserted, 3);
  // The same file again without update: refused, and says how to update.
  const again = await upload('/api/v1/persons/import', first);
  assert.equal(again.status, 422);
  assert.match(again.json.errors[0].message, /update=1/);
  assert.equal(again.json.errors.length, 3, 'the row without an ID number is found too, not added twice');
  // A refused file with a new person in it: the row says what it would do, with no id that was never kept.
  const mixed = await upload('/api/v1/persons/import', `${first}\n孙未存,女,${idNumber('320923', '19910203', 402)},,1991-02-03,沟墩镇墩北1组5号,${GRID1},`);
  assert.equal(mixed.status, 422, mixed.text);
  const fresh = mixed.json.rows.find((x) => x.status === 'inserted');
  assert.ok(fresh, mixed.text);
  assert.equal(fresh.id, null);
  assert.equal(mixed.json.inserted, 0);
  // Next week's corrected file: a new phone, the same man, a new person.
  const c = idNumber('320923', '20090114', 202);
  const week = [HEADER,
    `王兰,女,${a},15890673449,1955-05-05,沟墩镇墩北1组1号,${GRID1},低保对象`,
    `李强,男,${b},13812345678,1988-03-16,沟墩镇墩北1组2号,${GRID1},`,
    `赵无证,男,,13900002222,1970-01-01,沟墩镇墩北1组3号,${GRID1},`,
    `钱新,女,${c},,2009-01-14,沟墩镇墩北1组4号,${GRID1},困境儿童`].join('\n');
  const dry = await upload('/api/v1/persons/import?update=1&dry_run=1', week);
  assert.equal(dry.status, 200, dry.text);
  assert.deepEqual([dry.json.inserted, dry.json.updated, dry.json.unchanged, dry.json.good], [1, 2, 1, 4]);
  assert.deepEqual(dry.json.rows.map((x) => x.status), ['updated', 'unchanged', 'updated', 'inserted']);
  assert.deepEqual(dry.json.rows[0].changes.phone, { old: '158****3441', new: '158****3449' }, 'old → new, masked');
  assert.equal(dry.json.dry_run, true);
  assert.equal(dry.json.rows[3].id, null, 'a dry run keeps no new record: no id to show');
  assert.ok(dry.json.rows[0].id > 0, 'the person a row would update');
  const before = (await srv.api('GET', `/api/v1/persons?id_number=${a}&reveal=1`, { token: command })).json.items[0];
  assert.equal(before.phone, '15890673441', 'a dry run changes nothing');
  const done = await upload('/api/v1/persons/import?update=1', week);
  assert.equal(done.status, 200, done.text);
  assert.deepEqual([done.json.inserted, done.json.updated, done.json.unchanged], [1, 2, 1]);
  const after = (await srv.api('GET', `/api/v1/persons?id_number=${a}&reveal=1`, { token: command })).json.items[0];
  assert.equal(after.phone, '15890673449');
  assert.equal(after.version, before.version + 1);
  const trail = await srv.api('GET', '/api/v1/audit?resource=persons&limit=50', { token: auditor });
  assert.ok(trail.json.items.some((x) => x.action === 'update' && x.record_id === String(after.id)), 'every update audited as an edit');
});

test('two people of one household with the same name and birth date: never guessed', async () => {
  const twins = [HEADER, `孙同名,男,,13900003333,1980-02-02,沟墩镇墩北2组9号,${GRID1},`,
    `孙同名,男,,13900004444,1980-02-02,沟墩镇墩北2组9号,${GRID1},`].join('\n');
  const r = await upload('/api/v1/persons/import?partial=1', twins);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.inserted, 1, 'the second looks like the first: refused in adding');
  const upd = await upload('/api/v1/persons/import?update=1&dry_run=1', twins.replace('13900004444', '13900005555'));
  assert.equal(upd.json.unchanged + upd.json.updated, 2, 'both rows find the one person');
  // With two such persons registered, a row naming them is refused, not guessed.
  const home = (await srv.api('GET', '/api/v1/persons?q=%E5%AD%99%E5%90%8C%E5%90%8D', { token: command })).json.items[0];
  const second = await srv.api('POST', '/api/v1/persons', { token: command,
    body: { name: '孙同名', household_id: home.household_id, birth_date: '1980-02-02' } });
  assert.equal(second.status, 201, second.text);
  const amb = await upload('/api/v1/persons/import?update=1', twins.split('\n').slice(0, 2).join('\n'));
  assert.equal(amb.status, 422);
  assert.equal(amb.json.errors[0].field, 'name');
  assert.match(amb.json.errors[0].message, /不止一个/);
});

test('uploads as browsers and curl -F send them: multipart/form-data, on every import route', async () => {
  const form = new FormData();
  form.append('note', '本周名单');
  form.append('file', new Blob([`${HEADER}\n周测,女,,13900006666,1990-01-01,沟墩镇墩北3组1号,${GRID1},`]), '名单.csv');
  const r = await fetch(`${srv.base}/api/v1/persons/import?dry_run=1`, { method: 'POST', body: form, headers: { authorization: `Bearer ${command}` } });
  const j = await r.json();
  assert.equal(r.status, 200, JSON.stringify(j));
  assert.equal(j.inserted, 1);
  const sample = path.join(SAMPLES, '摸排登记表.xlsx');
  if (fs.existsSync(sample)) {
    const f = new FormData();
    f.append('file', new Blob([fs.readFileSync(sample)]), '摸排登记表.xlsx');
    const x = await fetch(`${srv.base}/api/v1/persons/import?dry_run=1&partial=1`, { method: 'POST', body: f, headers: { authorization: `Bearer ${command}` } });
    const xj = await x.json();
    assert.equal(x.status, 200, JSON.stringify(xj).slice(0, 300));
    assert.ok(xj.good > 0, 'the office\'s own workbook read through a form');
  }
  const venues = new FormData();
  venues.append('file', new Blob([`场所名称,网格编码,地址\n周测药店,${GRID1},兴阜路1号`]), 'venues.csv');
  const v = await fetch(`${srv.base}/api/v1/venues/import`, { method: 'POST', body: venues, headers: { authorization: `Bearer ${command}` } });
  const vj = await v.json();
  assert.equal(v.status, 200, JSON.stringify(vj));
  assert.equal(vj.inserted, 1, 'venues take their grid by 网格编码, as rosters do');
  const broken = await upload('/api/v1/persons/import', '--x\r\nno end', command, 'multipart/form-data; boundary=x');
  expectError(broken, 422, 'validation_failed', 'file');
});

test('imports refuse a mistyped parameter instead of importing for real; households take 地址 and 现住址', async () => {
  const before = (await srv.api('GET', '/api/v1/households?limit=1', { token: command })).json.total;
  expectError(await upload('/api/v1/households/import?dryrun=1', `地址,网格编码\n墩北9组1号,${GRID1}`), 400, 'bad_query', 'dryrun');
  assert.equal((await srv.api('GET', '/api/v1/households?limit=1', { token: command })).json.total, before);
  for (const col of ['地址', '现住址', '住址']) {
    const r = await upload('/api/v1/households/import?dry_run=1', `${col},网格编码\n墩北9组1号,${GRID1}`);
    assert.equal(r.status, 200, `${col}: ${r.text}`);
    assert.equal(r.json.inserted, 1);
  }
});

test('times: ISO 8601 or seconds in, both out; exports and messages in local time', async () => {
  const p = await srv.api('POST', '/api/v1/persons', { token: command, body: { name: '时间甲', grid_id: DEMO.grid, phone: '13700001234' } });
  assert.equal(p.status, 201, p.text);
  assert.match(p.json.created_at_text, /\+08:00$/);
  const onset = '2026-12-01T08:30:00+08:00';
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: p.json.id, onset_at: onset, preset: 'v9' } });
  assert.equal(c.status, 201, c.text);
  assert.equal(c.json.onset_at, Date.parse(onset) / 1000);
  assert.equal(c.json.onset_at_text, onset);
  const local = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: p.json.id, onset_at: '2026-12-01 08:30', preset: 'v9' } });
  assert.equal(local.json.onset_at, Date.parse(onset) / 1000, 'without an offset: local time');
  const bad = expectError(await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: p.json.id, onset_at: '2026-06-31', preset: 'v9' } }),
    422, 'validation_failed', 'onset_at');
  assert.match(bad.message, /不存在/);
  const early = expectError(await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: p.json.id, onset_at: 100, preset: 'v9' } }),
    422, 'validation_failed', 'onset_at');
  assert.match(early.message, /2020-01-01 08:00/, 'limits in local time, not seconds');
  const v = await srv.api('POST', '/api/v1/venues', { token: command, body: { grid_id: DEMO.grid, name: '时间超市' } });
  const now = Math.floor(Date.now() / 1000);
  const iso = new Date((now - 3600) * 1000).toISOString();
  const s = await srv.api('POST', '/api/v1/scans', { token: command, body: { venue_code: v.json.code, phone: '13700001234', t_in: iso } });
  assert.equal(s.status, 201, s.text);
  assert.equal(s.json.t_in, now - 3600);
  assert.equal(Date.parse(s.json.t_in_at) / 1000, now - 3600);
  assert.match(s.json.t_out_at, /\+08:00$/);
  const csv = await srv.api('GET', '/api/v1/cases/export', { token: command });
  assert.match(csv.text, /2026-12-01 08:30/, 'the export in local time');
});

test('exports an office recognises: address, grid name and code; ID numbers stay text in Excel', async () => {
  const id = idNumber('320923', '19600606', 77);
  const p = await srv.api('POST', '/api/v1/persons', { token: command, body: { name: '导出甲', grid_id: DEMO.grid, id_number: id } });
  assert.equal(p.status, 201, p.text);
  const r = await srv.api('GET', `/api/v1/persons/export?reveal=1&grid=${DEMO.grid}`, { token: command });
  assert.equal(r.status, 200);
  const lines = r.text.replace(/^\uFEFF/, '').split('\r\n');
  const header = lines[0].split(',');
  for (const col of ['住址', '网格', '网格编码', '编号']) assert.ok(header.includes(col), col);
  const row = lines.find((l) => l.includes('导出甲')).split(',');
  assert.equal(row[header.indexOf('身份证号')], `\t${id}`, 'a tab keeps Excel from showing 3.20923E+17');
  assert.equal(row[header.indexOf('网格编码')], `\t${GRID1}`);
  assert.equal(row[header.indexOf('网格')], '第1网格');
  // …and the export comes back in as it went out, the tab taken off.
  const back = await upload('/api/v1/persons/import?dry_run=1&update=1', r.text);
  assert.equal(back.status, 200, back.text.slice(0, 300));
  assert.equal(back.json.rows.find((x) => x.id === p.json.id).status, 'unchanged');
});

test('small things: labels as values, ID numbers typed in groups, a merge asks which phone to keep', async () => {
  const id = idNumber('320923', '19700707', 55);
  const g = await srv.api('POST', '/api/v1/persons', { token: command, body: { name: '小事甲', grid_id: DEMO.grid, gender: '男' } });
  assert.equal(g.status, 201, g.text);
  assert.equal(g.json.gender, 'male', 'the label people write is the value');
  const x = await srv.api('POST', '/api/v1/persons', { token: command, body: { name: '小事乙', grid_id: DEMO.grid, id_number: id, phone: '0515-87212345' } });
  assert.equal(x.status, 201, x.text);
  const grouped = `${id.slice(0, 6)} ${id.slice(6, 14)} ${id.slice(14).toLowerCase()}`;
  const found = await srv.api('GET', `/api/v1/persons?id_number=${encodeURIComponent(grouped)}`, { token: command });
  assert.equal(found.status, 200, found.text);
  assert.equal(found.json.total, 1);
  const dup = await srv.api('POST', '/api/v1/persons', { token: command, body: { name: '小事乙', grid_id: DEMO.grid, phone: '13812345670' } });
  const ask = expectError(await srv.api('POST', `/api/v1/persons/${x.json.id}/merge`, { token: command, body: { from: dup.json.id } }),
    409, 'conflict', 'phone');
  assert.match(ask.message, /0515/);
  assert.equal((await srv.api('GET', `/api/v1/persons/${dup.json.id}`, { token: command })).status, 200, 'nothing merged yet');
  const m = await srv.api('POST', `/api/v1/persons/${x.json.id}/merge`, { token: command, body: { from: dup.json.id, phone: 'from' } });
  assert.equal(m.status, 200, m.text);
  assert.equal(m.json.phone, '138****5670');
  const day = expectError(await srv.api('POST', '/api/v1/persons', { token: command, body: { name: '小事丙', grid_id: DEMO.grid, birth_date: '1990-06-31' } }),
    422, 'validation_failed', 'birth_date');
  assert.match(day.message, /不存在/);
});

test('the lists handed out stay while a case is traced again, until the new result is applied', async () => {
  const who = async (name) => (await srv.api('POST', '/api/v1/persons', { token: command,
    body: { name, grid_id: DEMO.grid, phone: `1390000${String(Math.floor(Math.random() * 9000) + 1000)}` } })).json.id;
  const index = await who('再流调甲'), met = await who('再流调乙');
  const v = await srv.api('POST', '/api/v1/venues', { token: command, body: { grid_id: DEMO.grid, name: '再流调店' } });
  const now = Math.floor(Date.now() / 1000);
  for (const person of [index, met]) {
    const r = await srv.api('POST', '/api/v1/scans', { token: command, body: { venue_code: v.json.code, person_id: person, t_in: now - 7200, t_out: now - 5400 } });
    assert.equal(r.status, 201, r.text);
  }
  const c = await srv.api('POST', '/api/v1/cases', { token: command, body: { person_id: index, onset_at: now - 3600, preset: 'v9' } });
  const caseId = c.json.id;
  const list = async () => (await srv.api('GET', `/api/v1/contacts?case_id=${caseId}`, { token: community })).json;
  assert.equal((await srv.api('POST', `/api/v1/cases/${caseId}/trace`, { token: command })).status, 200);
  assert.equal((await list()).total, 0, 'nothing handed out before apply');
  assert.equal((await srv.api('POST', `/api/v1/cases/${caseId}/apply`, { token: command })).status, 200);
  const handed = await list();
  assert.equal(handed.total, 1);
  assert.deepEqual(handed.items.map((x) => x.rank), [1]);
  const one = handed.items[0];
  assert.equal(one.name, '再***');
  assert.match(one.phone, /^139\*{4}\d{4}$/);
  assert.equal(one.grid.code, GRID1);
  assert.ok(Array.isArray(one.leaders) && one.leaders.some((l) => l.duty === '网格员'), 'whom to ask about the grid');
  // A second visitor, a new trace: the community keeps its list until the new one is applied.
  const late = await who('再流调丙');
  await srv.api('POST', '/api/v1/scans', { token: command, body: { venue_code: v.json.code, person_id: late, t_in: now - 6000, t_out: now - 5000 } });
  assert.equal((await srv.api('POST', `/api/v1/cases/${caseId}/trace`, { token: command })).status, 200);
  assert.equal((await list()).total, 1, 'the applied list stays in force');
  const pending = await srv.api('GET', `/api/v1/cases/${caseId}/contacts`, { token: command });
  assert.equal(pending.json.total, 2);
  assert.ok(pending.json.items.every((x) => x.applied === false), 'the case shows its new result, not yet applied');
  assert.equal((await srv.api('POST', `/api/v1/cases/${caseId}/apply`, { token: command })).status, 200);
  const now2 = await list();
  assert.equal(now2.total, 2);
  assert.deepEqual(now2.items.map((x) => x.rank), [1, 2], 'ranks without gaps');
  const whole = await srv.api('GET', `/api/v1/contacts?case_id=${caseId}&reveal=1`, { token: community });
  assert.ok(whole.json.items.some((x) => x.name === '再流调乙'));
  expectError(await srv.api('GET', `/api/v1/contacts?case_id=${caseId}&reveal=1`, { token: await srv.login('gridworker') }), 403, 'forbidden', 'reveal');
  const sheet = await srv.api('GET', `/api/v1/contacts/export?case_id=${caseId}&reveal=1`, { token: community });
  assert.match(sheet.text, /联系电话,住址,社区,网格,网格编码,网格责任人/);
  assert.match(sheet.text, /再流调乙/);
});

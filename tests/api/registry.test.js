'use strict';
// The registry (摸排): a roster as offices send it, in UTF-8 or GB18030,
// with the mess people type; scope, masking, audited reveal, encryption at
// rest, duplicates, merge and key rotation.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, STORE, DEMO } = require('./helpers');
const { expectError } = require('./expect');

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';
function idNumber(region, birth, seq) {
  const body = `${region}${birth}${String(seq).padStart(3, '0')}`;
  const sum = [...body].reduce((s, d, i) => s + Number(d) * WEIGHTS[i], 0);
  return body + CHECK[sum % 11];
}
const withWrongCheck = (id) => id.slice(0, 17) + (id[17] === '0' ? '1' : '0');
const fullWidth = (s) => s.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));

// The demo's first community is 兴阜居委会 (320923001001); its grids carry
// CJ/T 349 codes: the community code and an 8-digit serial.
const GRID1 = '32092300100100000001'; // node DEMO.grid, the grid worker's grid
const GRID2 = '32092300100100000002'; // another grid of the same community
const ids = {
  a: idNumber('320923', '19550505', 200),      // female (even sequence)
  b: idNumber('320923', '19880316', 131),      // male
  x: idNumber('320923', '19700101', 23),       // may end in X
  c: idNumber('320923', '20090114', 202),
  d: idNumber('320923', '19621014', 381),      // male: the gender column will lie
};
let xid = 1;
while (!ids.x.endsWith('X')) ids.x = idNumber('320923', '19700101', 23 + xid++);

const HEADER = '序号,姓名,性别,身份证号,联系电话,出生日期,现住址,网格编码,居住状态,重点人群,备注';
// [expected outcome, the CSV row]; outcome null = accepted.
const ROWS = [
  [null, `1,闫敏,女,${ids.a},15890673441,1955/05/05,沟墩镇墩北9组70号,${GRID1},常住,低保对象、独居老人,`],
  [null, `2,张伟,男, ${fullWidth(ids.b)} ,138-1234-5678,1988年03月16日,沟墩镇墩北9组71号,${GRID1},流动,,`],
  [null, `3,李娜,女,${ids.x.toLowerCase()},0515-87212345,,沟墩镇墩北9组72号,${GRID2},返乡,,`],
  [null, `4,阿卜杜热合曼·买买提,男,,13808179964,1963.11.02,沟墩镇墩北9组73号,${GRID1},常住,,"身份证丢失,待补"`],
  [['id_number', /校验位/], `5,错号,女,${withWrongCheck(ids.c)},15812345678,,沟墩镇墩北9组74号,${GRID1},常住,,`],
  [['id_number', /出生日期/], `6,闰日,女,${idNumber('320923', '20210229', 100)},15812345679,,沟墩镇墩北9组75号,${GRID1},常住,,`],
  [['id_number', /第2行|重复/], `7,闫敏,女,${ids.a},15890673441,1955/05/05,沟墩镇墩北9组70号,${GRID1},常住,低保对象,`],
  [['gender', /性别.*身份证号|不符/], `8,唐红兰,女,${ids.d},15288165783,1962.10.14,沟墩镇墩北9组76号,${GRID1},常住,特困老人,`],
  [['birth_date', /日期/], `9,坏日期,男,,15288165784,1961-02-30,沟墩镇墩北9组77号,${GRID1},常住,,`],
  [['id_number', /Excel|文本/], `10,科学计数,男,3.20923E+17,15288165785,,沟墩镇墩北9组78号,${GRID1},常住,,`],
];
const goodRows = ROWS.filter(([o]) => !o);
const badRows = ROWS.map(([o], i) => [o, i + 2]).filter(([o]) => o); // file row = index + 2 (header is row 1)

function csv(rows) {
  return [HEADER, ...rows.map(([, r]) => r)].join('\r\n') + '\r\n';
}
function gb18030(text) {
  return execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GB18030'], { input: text });
}

let srv, command, community, gridworker;
before(async () => {
  srv = await startServer();
  [command, community, gridworker] = await Promise.all(['command', 'community', 'gridworker'].map((u) => srv.login(u)));
});
after(async () => { await srv.stop(); });

const importFile = (token, body, query = '') =>
  srv.api('POST', `/api/v1/persons/import${query}`, { token, raw: body, headers: { 'content-type': 'text/csv' } });
const count = async (token) => (await srv.api('GET', '/api/v1/persons?limit=1', { token })).json.total;

test('a dry run reports every bad row by row and column, in Chinese and English, and writes nothing', async () => {
  const r = await importFile(community, Buffer.from(csv(ROWS)), '?dry_run=1');
  assert.equal(r.status, 422, r.text);
  assert.equal(r.json.inserted, 0);
  const errors = r.json.errors;
  assert.deepEqual(errors.map((e) => [e.row, e.field]), badRows.map(([[field], row]) => [row, field]));
  for (const [[, pattern], row] of badRows) {
    const e = errors.find((x) => x.row === row);
    assert.match(e.message, pattern, `row ${row}: ${e.message}`);
    assert.match(e.message, new RegExp(`第${row}行`));
    assert.match(e.message_en, new RegExp(`row ${row}`));
  }
  assert.equal(await count(command), 0);
});

test('UTF-8 and GB18030 files with the same content give the same answer', async () => {
  const utf8 = await importFile(community, Buffer.from('\ufeff' + csv(ROWS)), '?dry_run=1');
  const gbk = await importFile(community, gb18030(csv(ROWS)), '?dry_run=1');
  assert.equal(gbk.status, utf8.status);
  assert.deepEqual(gbk.json.errors, utf8.json.errors);
});

test('all or nothing: one bad row and nothing is written', async () => {
  const r = await importFile(community, gb18030(csv([...goodRows, ROWS[4]])));
  assert.equal(r.status, 422);
  assert.equal(r.json.error.code, 'validation_failed');
  assert.equal(await count(command), 0);
});

test('the good rows are stored in canonical form, derived fields filled, the missing ID listed', async () => {
  const r = await importFile(community, gb18030(csv(goodRows)));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.inserted, goodRows.length);
  const list = await srv.api('GET', '/api/v1/persons?reveal=1&limit=100', { token: community });
  const byName = Object.fromEntries(list.json.items.map((p) => [p.name, p]));
  assert.equal(byName['闫敏'].id_number, ids.a);
  assert.deepEqual(byName['闫敏'].tags, ['低保对象', '独居老人']);
  assert.equal(byName['闫敏'].birth_date, '1955-05-05');
  assert.equal(byName['张伟'].id_number, ids.b, 'full-width digits and spaces normalised');
  assert.equal(byName['张伟'].phone, '13812345678', 'dashes removed');
  assert.equal(byName['张伟'].gender, 'male');
  assert.equal(byName['张伟'].residence, 'migrant');
  assert.equal(byName['李娜'].id_number, ids.x, 'lower-case x normalised');
  assert.equal(byName['李娜'].phone, '0515-87212345', 'a landline is a contact number');
  assert.equal(byName['李娜'].birth_date, '1970-01-01', 'birth date derived from the ID');
  assert.ok(byName['阿卜杜热合曼·买买提'], 'a name with a middle dot is kept as written');
  const missing = await srv.api('GET', '/api/v1/persons?id_missing=true', { token: community });
  assert.deepEqual(missing.json.items.map((p) => p.name), ['阿卜杜热合曼·买买提']);
  assert.match(missing.json.items[0].note, /身份证丢失/);
  // households were made from the addresses, in the right grids
  const households = await srv.api('GET', '/api/v1/households?limit=100', { token: community });
  assert.equal(households.json.total, goodRows.length);
});

test('partial import keeps the good rows and reports the bad ones', async () => {
  const extra = `11,王芳,女,${ids.c},15812340000,,沟墩镇墩北9组80号,${GRID1},常住,,`;
  const r = await importFile(community, Buffer.from(csv([[null, extra], ROWS[5]])), '?partial=1');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.inserted, 1);
  assert.deepEqual(r.json.errors.map((e) => [e.row, e.field]), [[3, 'id_number']]);
  assert.equal(await count(command), goodRows.length + 1);
});

test('a row with several faults reports the one met first, as far down the file as the read-ahead goes', async () => {
  // Rows past the first few are checked and encrypted on the reading thread;
  // the import still meets a row's faults in its own order: the values the
  // file gives first, in the file's order (the ID before the phone), then
  // what needs the database (the grid code), so that a row refused for a
  // bad value has written nothing (its household) to undo.
  const filler = Array.from({ length: 200 }, (_, i) =>
    [null, `${i},填充${'甲乙丙丁戊己庚辛壬癸'[i % 10]},女,,158${String(10000000 + i)},,沟墩镇墩北9组${100 + i}号,${GRID1},常住,,`]);
  const faults = [
    [null, `201,两错,女,${withWrongCheck(ids.c)},15812345678,,沟墩镇墩北9组90号,99999999999999999999,常住,,`],
    [null, `202,两错,女,${withWrongCheck(ids.c)},12345,,沟墩镇墩北9组91号,${GRID1},常住,,`],
    [null, `203,一错,女,,12345,,沟墩镇墩北9组92号,${GRID1},常住,,`],
  ];
  const before = await count(command);
  const r = await importFile(community, Buffer.from(csv([...filler, ...faults])), '?dry_run=1');
  assert.equal(r.status, 422, r.text);
  assert.deepEqual(r.json.errors.map((e) => [e.row, e.field]), [[202, 'id_number'], [203, 'id_number'], [204, 'phone']]);
  assert.equal(await count(command), before);
});

test('masked by default; reveal is a right, and every reveal is audited', async () => {
  const list = await srv.api('GET', `/api/v1/persons?id_number=${ids.a}`, { token: community });
  assert.equal(list.json.total, 1);
  const p = list.json.items[0];
  assert.equal(p.id_number, `${ids.a.slice(0, 6)}********${ids.a.slice(14)}`);
  assert.equal(p.phone, '158****3441');
  const byPhone = await srv.api('GET', '/api/v1/persons?phone=158-9067-3441', { token: community });
  assert.deepEqual(byPhone.json.items.map((x) => x.id), [p.id]);
  expectError(await srv.api('GET', `/api/v1/persons/${p.id}?reveal=1`, { token: gridworker }), 403, 'forbidden', 'reveal');
  const whole = await srv.api('GET', `/api/v1/persons/${p.id}?reveal=1`, { token: community });
  assert.equal(whole.json.id_number, ids.a);
  const auditor = await srv.login('auditor');
  let found;
  for (let i = 0; i < 50 && !found; i++) {
    const audit = await srv.api('GET', '/api/v1/audit?resource=persons&limit=200', { token: auditor });
    found = audit.json.items.find((a) => a.action === 'reveal' && a.record_id === String(p.id) && a.username === 'community');
    if (!found) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(found, 'the reveal is in the audit trail');
  const csvOut = await srv.api('GET', '/api/v1/persons/export?format=csv', { token: community });
  assert.equal(csvOut.status, 200);
  assert.ok(!csvOut.text.includes(ids.a), 'exports are masked');
  assert.ok(csvOut.text.includes('身份证号'));
  const revealed = await srv.api('GET', '/api/v1/persons/export?format=csv&reveal=1', { token: community });
  assert.ok(revealed.text.includes(ids.a));
});

test('a grid worker sees, imports and exports only her grid', async () => {
  const mine = await srv.api('GET', '/api/v1/persons?limit=100', { token: gridworker });
  assert.ok(mine.json.total > 0);
  for (const p of mine.json.items) assert.ok(p.node_path.startsWith(`/1/${DEMO.street}/${DEMO.community}/${DEMO.grid}/`), p.node_path);
  const all = await srv.api('GET', '/api/v1/persons?limit=100', { token: community });
  const other = all.json.items.find((p) => !p.node_path.includes(`/${DEMO.grid}/`));
  assert.ok(other, 'a person in the other grid exists');
  expectError(await srv.api('GET', `/api/v1/persons/${other.id}`, { token: gridworker }), 404, 'not_found');
  const r = await importFile(gridworker, Buffer.from(csv([[null, `1,外网格,女,,13900000001,,某地,${GRID2},常住,,`]])));
  assert.equal(r.status, 422);
  assert.equal(r.json.errors[0].field, 'grid_code');
  const exp = await srv.api('GET', '/api/v1/persons/export?format=csv', { token: gridworker });
  assert.ok(!exp.text.includes(other.name));
});

test('a second person with the same ID number is a 409 naming the first', async () => {
  const first = (await srv.api('GET', `/api/v1/persons?id_number=${ids.b}`, { token: community })).json.items[0];
  const r = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name: '张伟', id_number: ids.b } });
  const e = expectError(r, 409, 'conflict', 'id_number');
  assert.match(e.message, new RegExp(String(first.id)));
});

test('the raw database holds no ID number or phone in plain text', async () => {
  if (STORE === 'postgres') {
    const dump = execFileSync('psql', [srv.data.db, '-At', '-c', 'SELECT row_to_json(p)::text FROM persons p'], { encoding: 'utf8' });
    assert.ok(dump.length > 0);
    for (const id of [ids.a, ids.b, ids.x]) assert.ok(!dump.includes(id), id);
    assert.ok(!dump.includes('15890673441'));
  } else {
    for (const f of ['wangge.db', 'wangge.db-wal']) {
      const file = path.join(srv.dir, f);
      if (!fs.existsSync(file)) continue;
      const bytes = fs.readFileSync(file);
      for (const id of [ids.a, ids.b, ids.x]) assert.equal(bytes.indexOf(id), -1, `${id} in ${f}`);
      assert.equal(bytes.indexOf('15890673441'), -1);
    }
  }
});

test('merge folds a duplicate into the kept record, audited', async () => {
  const kept = (await srv.api('GET', `/api/v1/persons?id_number=${ids.a}`, { token: community })).json.items[0];
  const dup = await srv.api('POST', '/api/v1/persons', {
    token: community, body: { grid_id: DEMO.grid, name: '闫敏', workplace: '沟墩镇卫生院', tags: ['慢性病'] },
  });
  assert.equal(dup.status, 201, dup.text);
  const r = await srv.api('POST', `/api/v1/persons/${kept.id}/merge`, { token: community, body: { from: dup.json.id } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.workplace, '沟墩镇卫生院');
  assert.deepEqual(r.json.tags.sort(), ['低保对象', '慢性病', '独居老人'].sort());
  expectError(await srv.api('GET', `/api/v1/persons/${dup.json.id}`, { token: community }), 404, 'not_found');
  expectError(await srv.api('POST', `/api/v1/persons/${kept.id}/merge`, { token: community, body: { from: kept.id } }), 422, 'validation_failed', 'from');
});

test('key rotation re-encrypts everything and the data stays readable', async () => {
  await srv.stop();
  const out = srv.cli(['keys', 'rotate']);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /field key 2/);
  srv = await startServer({}, srv.data);
  community = await srv.login('community');
  const p = await srv.api('GET', `/api/v1/persons?id_number=${ids.a}&reveal=1`, { token: community });
  assert.equal(p.json.items[0].id_number, ids.a);
  const verify = srv.cli(['audit', 'verify']);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
});

test('重点人群 may be separated by 、，；,; spaces or tabs: each word is a tag, in its order', async () => {
  const id = idNumber('320923', '19470707', 311);
  const row = `1,分隔符,男,${id},13900001111,,沟墩镇墩北9组90号,${GRID1},常住,"低保对象，独居老人；孕产妇,慢性病;残疾人 退役军人\t党员、、特困老人",`;
  const r = await importFile(community, Buffer.from([HEADER, row].join('\r\n') + '\r\n'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.inserted, 1, r.text);
  const got = await srv.api('GET', `/api/v1/persons?id_number=${id}`, { token: command });
  assert.deepEqual(got.json.items[0].tags, ['低保对象', '独居老人', '孕产妇', '慢性病', '残疾人', '退役军人', '党员', '特困老人']);
});

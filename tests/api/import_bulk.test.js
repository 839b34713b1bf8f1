'use strict';
// A street's roster at the size offices send: tens of thousands of rows
// through the upload file, one audit record for the file, the table's
// indexes whole afterwards (also after a rejected file), and searches that
// stop counting at 10,000.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { startServer, initData, STORE, ADMIN_PASSWORD } = require('./helpers');

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';
function idNumber(birth, seq) {
  const body = `320923${birth}${String(seq).padStart(3, '0')}`;
  const sum = [...body].reduce((s, d, i) => s + Number(d) * WEIGHTS[i], 0);
  return body + CHECK[sum % 11];
}
function birthOf(day) {
  const d = new Date(Date.UTC(1940, 0, 1) + day * 86400000);
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

const GRIDS = ['32092300100100000001', '32092300100100000002'];
const GIVEN = ['伟', '芳', '娜', '敏', '静', '丽', '强', '磊', '军', '洋'];
const ROWS = 10500; // above 10,000 for the search count; about 1.1 MB
// A low import_sort_index_bytes makes this file "big": its indexes are built by sorting.
const SORT_FROM_BYTES = 256 * 1024;
const HEADER = '姓名,身份证号,联系电话,现住址,网格编码,重点人群';

function roster(rows, series = 100) {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    const id = idNumber(birthOf(i % 25000), series + Math.floor(i / 25000));
    const household = Math.floor(i / 3); // three to a household, on consecutive rows
    lines.push(`王${GIVEN[i % 10]}${i % 7 ? '' : '华'},${id},13${String(i).padStart(9, '0')},` +
      `沟墩镇墩北${household % 40}组${household}号,${GRIDS[household % 2]},${i % 5 ? '' : '独居老人'}`);
  }
  return Buffer.from(lines.join('\r\n') + '\r\n');
}

let srv, admin, command, community, file;
before(async () => {
  srv = await startServer({ import_sort_index_bytes: SORT_FROM_BYTES });
  admin = await srv.login('admin', ADMIN_PASSWORD);
  [command, community] = await Promise.all(['command', 'community'].map((u) => srv.login(u)));
  file = roster(ROWS);
  assert.ok(file.length > SORT_FROM_BYTES);
});
after(async () => { await srv.stop(); });

const importFile = (token, body, query = '') =>
  srv.api('POST', `/api/v1/persons/import${query}`, { token, raw: body, headers: { 'content-type': 'text/csv' } });

function sqliteIndexes() {
  const db = path.join(srv.dir, 'wangge.db');
  return execFileSync('sqlite3', [db, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'persons' AND sql IS NOT NULL ORDER BY name"])
    .toString().trim().split('\n');
}

test('a big roster is imported whole, its households made once per address, its indexes whole', async () => {
  const indexes = STORE === 'sqlite' ? sqliteIndexes() : null;
  const r = await importFile(community, file);
  assert.equal(r.status, 200, r.text.slice(0, 500));
  assert.equal(r.json.inserted, ROWS);
  assert.deepEqual(r.json.errors, []);
  assert.deepEqual(r.json.also_created, { households: Math.ceil(ROWS / 3) });
  const households = await srv.api('GET', '/api/v1/households?limit=1', { token: community });
  assert.equal(households.json.total, Math.ceil(ROWS / 3));
  if (indexes) {
    // the unique index on the ID number too: the import keeps the numbers in memory meanwhile
    assert.match(srv.stderr, /import into persons: 5 indexes dropped, rebuilt by sorting/);
    assert.deepEqual(sqliteIndexes(), indexes, 'every index of persons is there again');
  }
  // the indexes answer: exact lookup by ID number and by phone, members of a household
  const someone = idNumber(birthOf(4321), 100);
  const byId = await srv.api('GET', `/api/v1/persons?id_number=${someone}`, { token: command });
  assert.equal(byId.json.total, 1);
  const byPhone = await srv.api('GET', '/api/v1/persons?phone=13000004321', { token: command });
  assert.equal(byPhone.json.total, 1);
  assert.equal(byPhone.json.items[0].id, byId.json.items[0].id);
  const family = await srv.api('GET', `/api/v1/persons?household_id=${byId.json.items[0].household_id}`, { token: command });
  assert.equal(family.json.total, 3);
});

test('the file is audited once, with the range of ids it created, not row by row', async () => {
  const trail = await srv.api('GET', '/api/v1/audit?resource=persons&limit=1000', { token: await srv.login('auditor') });
  assert.equal(trail.status, 200, trail.text);
  const imports = trail.json.items.filter((a) => a.action === 'import');
  assert.equal(imports.length, 1);
  // the record names the file by its digest (as b2sum prints it) and the ids it created
  // from 256 KiB the digest is worked out on a thread of its own while the rows are stored
  assert.ok(Buffer.byteLength(file) >= 256 << 10, `the roster is ${Buffer.byteLength(file)} bytes`);
  const tmp = path.join(srv.dir, 'roster-copy.csv');
  fs.writeFileSync(tmp, file);
  const digest = execFileSync('b2sum', ['-l', '256', tmp]).toString().split(' ')[0];
  fs.unlinkSync(tmp);
  assert.equal(imports[0].change_hash, digest);
  const [first, last] = imports[0].record_id.split('-').map(Number);
  assert.equal(last - first + 1, ROWS);
  const firstPerson = await srv.api('GET', `/api/v1/persons/${first}`, { token: command });
  assert.equal(firstPerson.status, 200);
  assert.equal(trail.json.items.filter((a) => a.action === 'create').length, 0, 'no record per row');
});

test('a rejected big file changes nothing and leaves every index in place', async () => {
  const indexes = STORE === 'sqlite' ? sqliteIndexes() : null;
  const r = await importFile(community, file); // the same file again: every ID is registered already
  assert.equal(r.status, 422, r.text.slice(0, 300));
  // every row repeats an ID already registered; the first error names the first data row
  assert.equal(r.json.errors[0].row, 2);
  assert.equal(r.json.errors[0].field, 'id_number');
  const count = await srv.api('GET', '/api/v1/persons?limit=1', { token: command });
  assert.equal(count.json.total, ROWS);
  if (indexes) assert.deepEqual(sqliteIndexes(), indexes);
});

test('a one-character search counts up to 10,000 and says so; a narrow one counts exactly', async () => {
  const wide = await srv.api('GET', `/api/v1/persons?q=${encodeURIComponent('王')}&limit=20`, { token: command });
  assert.equal(wide.status, 200, wide.text);
  assert.equal(wide.json.total, 10000);
  assert.equal(wide.json.total_capped, true);
  assert.equal(wide.json.items.length, 20);
  assert.ok(wide.json.items.every((p) => p.name.startsWith('王')));
  const narrow = await srv.api('GET', `/api/v1/persons?q=${encodeURIComponent('王伟华')}&limit=20`, { token: command });
  // 王伟华: i % 10 == 0 and i % 7 == 0, i.e. every 70th row
  assert.equal(narrow.json.total, Math.ceil(ROWS / 70));
  assert.ok(narrow.json.total < 10000);
  assert.equal(narrow.json.total_capped, undefined);
});

// A second street's roster, twice the first (big beside what is registered,
// so on SQLite its indexes are built by sorting, the unique one too), with
// two bad rows at the end: one repeats the ID number of this file's first
// person, one that of someone registered.
const SECOND = 2 * ROWS;
function rosterWithRepeats() {
  const lines = roster(SECOND, 200).toString().trimEnd().split('\r\n');
  const first = lines[1].split(','), registered = roster(1).toString().split('\r\n')[1].split(',');
  lines.push(['李重', first[1], '13900000001', '沟墩镇墩南1组1号', GRIDS[0], ''].join(','));
  lines.push(['赵重', registered[1], '13900000002', '沟墩镇墩南1组2号', GRIDS[0], ''].join(','));
  return { file: Buffer.from(lines.join('\r\n') + '\r\n'), firstId: first[1] };
}

function assertRepeatsReported(r) {
  assert.equal(r.json.errors.length, 2, JSON.stringify(r.json.errors));
  const [within, registered] = r.json.errors;
  assert.equal(within.row, SECOND + 2);
  assert.equal(within.field, 'id_number');
  assert.match(within.message, /与本文件第2行重复/);
  assert.match(within.message_en, /repeats row 2 of this file/);
  assert.equal(registered.row, SECOND + 3);
  assert.equal(registered.field, 'id_number');
  assert.match(registered.message, /已登记在人员 \d+ 中/);
  assert.match(registered.message_en, /already registered as person \d+/);
}

const sortedImports = () => (srv.stderr.match(/import into persons: 5 indexes dropped/g) || []).length;

test('a big file repeating an ID number, its own or a registered one, is refused naming both rows; nothing kept', async () => {
  const indexes = STORE === 'sqlite' ? sqliteIndexes() : null;
  const { file: repeats } = rosterWithRepeats();
  const sorted = sortedImports();
  const r = await importFile(community, repeats);
  if (indexes) assert.equal(sortedImports(), sorted + 1, 'the unique index was dropped: the repeats were found in memory');
  assert.equal(r.status, 422, r.text.slice(0, 300));
  assertRepeatsReported(r);
  const count = await srv.api('GET', '/api/v1/persons?limit=1', { token: command });
  assert.equal(count.json.total, ROWS);
  if (indexes) assert.deepEqual(sqliteIndexes(), indexes);
});

test('with ?partial=1 the same file keeps every other row, and the ID numbers stay unique', async () => {
  const indexes = STORE === 'sqlite' ? sqliteIndexes() : null;
  const { file: repeats, firstId } = rosterWithRepeats();
  const sorted = sortedImports();
  const r = await importFile(community, repeats, '?partial=1');
  assert.equal(r.status, 200, r.text.slice(0, 300));
  if (indexes) assert.equal(sortedImports(), sorted + 1);
  assert.equal(r.json.inserted, SECOND);
  assertRepeatsReported(r);
  const count = await srv.api('GET', '/api/v1/persons?limit=1', { token: command });
  assert.equal(count.json.total, ROWS + SECOND);
  const holder = await srv.api('GET', `/api/v1/persons?id_number=${firstId}`, { token: command });
  assert.equal(holder.json.total, 1);
  assert.notEqual(holder.json.items[0].name, '李重', 'the number stays with the row that gave it first');
  if (indexes) {
    assert.deepEqual(sqliteIndexes(), indexes);
    const db = path.join(srv.dir, 'wangge.db');
    const dupes = execFileSync('sqlite3', [db, 'SELECT COUNT(*) FROM (SELECT id_number_bidx FROM persons WHERE id_number_bidx IS NOT NULL GROUP BY 1 HAVING COUNT(*) > 1)']).toString().trim();
    assert.equal(dupes, '0');
  }
});


test('the upload file is removed once the import has answered', async () => {
  // removed as the request completes, which may be a moment after the client has the answer
  let left;
  for (let i = 0; i < 50; i++) {
    left = fs.readdirSync(srv.dir).filter((f) => f.startsWith('upload-'));
    if (left.length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(left, []);
});

test('upload files a stopped server left behind are removed when it starts again', async () => {
  const data = initData();
  const stale = path.join(data.dir, 'upload-Ab12Cd');
  fs.writeFileSync(stale, '姓名,身份证号\n');
  const other = await startServer({}, data);
  try {
    assert.equal(fs.existsSync(stale), false);
    assert.match(other.stderr, /removed 1 upload file/);
  } finally {
    await other.stop();
  }
});

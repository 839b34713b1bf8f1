'use strict';
// Rosters bigger than the chunks PostgreSQL imports them in (import_chunk_rows,
// 1,000 rows by default): the same file is imported by a server that sends
// chunks and by one that goes row by row (import_chunk_rows = 0), and the two
// answers must be the same to the letter: errors in the middle of a chunk,
// duplicates inside the file and against the store, partial imports with bad
// rows in several chunks, dry runs, re-imports with update=1, households and
// their heads. On SQLite both servers go row by row; the explicit checks
// below hold on both stores.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, DEMO } = require('./helpers');

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
function idNumber(birth, seq) {
  const body = `320923${birth}${String(seq).padStart(3, '0')}`;
  const sum = [...body].reduce((s, d, i) => s + Number(d) * WEIGHTS[i], 0);
  return body + '10X98765432'[sum % 11];
}
function birthOf(i) {
  return new Date(Date.UTC(1950, 0, 1) + (i % 20000) * 86400000).toISOString().slice(0, 10);
}
const personId = (i) => idNumber(birthOf(i).replace(/-/g, ''), 300 + Math.floor(i / 20000));
// Names carry their row in Chinese numerals (a name has no digits).
const NUMERALS = '零一二三四五六七八九';
const nameOf = (surname, i) => surname + '伟芳娜敏静丽强磊军洋'[i % 10] + [...String(i)].map((d) => NUMERALS[d]).join('');
const rowOfName = (name) => Number([...name.slice(2)].map((c) => NUMERALS.indexOf(c)).join(''));

const GRIDS = ['32092300100100000001', '32092300100100000002'];
const HEADER = '姓名,性别,身份证号,联系电话,出生日期,现住址,网格编码,与户主关系,重点人群';
const ROWS = 2300;           // three chunks of the default size: 1000, 1000, 300
const ALREADY = personId(5000);  // registered before the import, through the API
// Bad rows (0-based data rows; the file row is i + 2), in the middle of every chunk.
const BAD = {
  phone: 437,          // chunk 1: a phone that is no phone
  checksum: 1211,      // chunk 2: an ID number whose check digit is wrong
  repeats: 1502,       // chunk 2: the ID number of data row 17
  registered: 1777,    // chunk 2: the ID number of the person registered before
  gender: 2050,        // chunk 3: a gender the ID number contradicts
  grid: 2298,          // chunk 3: a grid code nobody has
};

// A community's roster: two to a household on consecutive rows, the first
// its head; the first quarter on one grid, the rest on another; some rows
// with tags, some without a phone (rows of different shapes). Gender and
// birth date are those the ID number says.
function roster(rows = ROWS, { phoneOf = (i) => `13${String(700000000 + i)}`, bad = BAD, idOf = personId,
  surname = '李', street = '墩南' } = {}) {
  const lines = [HEADER];
  for (let i = 0; i < rows; i++) {
    const h = Math.floor(i / 2);
    let id = idOf(i), phone = i % 9 ? phoneOf(i) : '', grid = GRIDS[h < rows / 4 ? 0 : 1];
    if (i === bad.repeats) id = idOf(17);
    if (i === bad.registered) id = ALREADY;
    const birth = `${id.slice(6, 10)}-${id.slice(10, 12)}-${id.slice(12, 14)}`;
    let gender = Number(id[16]) % 2 ? '男' : '女';
    if (i === bad.phone) phone = '1234';
    if (i === bad.checksum) id = id.slice(0, 17) + (id[17] === '0' ? '1' : '0');
    if (i === bad.gender) gender = gender === '男' ? '女' : '男';
    if (i === bad.grid) grid = '32092399999999999999';
    lines.push([nameOf(surname, i), gender, id, phone, birth, `沟墩镇${street}${h}号`, grid,
      i % 2 ? '配偶' : '户主', i % 4 ? '' : '低保对象'].join(','));
  }
  return lines.join('\n') + '\n';
}

let one, chunked, tokens = {};
before(async () => {
  [one, chunked] = await Promise.all([startServer({ import_chunk_rows: 0 }), startServer()]);
  for (const srv of [one, chunked]) {
    tokens[srv.base] = await srv.login('command');
    const r = await srv.api('POST', '/api/v1/persons', { token: tokens[srv.base],
      body: { name: '先登记', grid_id: DEMO.grid, id_number: ALREADY } });
    assert.equal(r.status, 201, r.text);
  }
});
after(async () => { await Promise.all([one.stop(), chunked.stop()]); });

const upload = (srv, query, body) => srv.api('POST', `/api/v1/persons/import${query}`,
  { token: tokens[srv.base], raw: Buffer.from(body), headers: { 'content-type': 'text/csv' } });

// Ids the imports made may differ (a chunk done again takes new ones, and
// sequences do not roll back with a rejected file); nothing else may.
function comparable(v, idish = false) {
  if (Array.isArray(v)) return v.map((x) => comparable(x, idish));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, comparable(x, idish || k === 'id' || k.endsWith('_id'))]));
  if (typeof v === 'number' && idish) return 'an id';
  if (typeof v === 'string') return v.replace(/(人员 |person )\d+/g, '$1N');
  return v;
}

// Both servers, the same file: the same answer, which is returned.
async function both(query, body) {
  const [a, b] = await Promise.all([upload(one, query, body), upload(chunked, query, body)]);
  assert.equal(b.status, a.status, b.text.slice(0, 300));
  assert.deepEqual(comparable(b.json), comparable(a.json));
  return a;
}

async function count(srv, what) {
  const r = await srv.api('GET', `/api/v1/${what}?limit=1`, { token: tokens[srv.base] });
  assert.equal(r.status, 200, r.text);
  return r.json.total;
}

const expectedRows = Object.values(BAD).map((i) => i + 2).sort((x, y) => x - y);

test('a file with errors in the middle of every chunk: the same errors, rows and messages, and nothing kept', async () => {
  const r = await both('', roster());
  assert.equal(r.status, 422);
  assert.equal(r.json.inserted, 0);
  assert.deepEqual(r.json.errors.map((e) => e.row), expectedRows);
  const byRow = Object.fromEntries(r.json.errors.map((e) => [e.row, e]));
  assert.equal(byRow[BAD.phone + 2].field, 'phone');
  assert.equal(byRow[BAD.checksum + 2].field, 'id_number');
  assert.equal(byRow[BAD.gender + 2].field, 'gender');
  assert.equal(byRow[BAD.grid + 2].field, 'grid_code');
  assert.match(byRow[BAD.repeats + 2].message, new RegExp(`与本文件第${17 + 2}行重复`));
  assert.match(byRow[BAD.repeats + 2].message_en, new RegExp(`repeats row ${17 + 2} of this file`));
  assert.match(byRow[BAD.registered + 2].message, /已登记在人员 \d+ 中/);
  for (const e of r.json.errors) {
    assert.match(e.message, new RegExp(`^第${e.row}行:`));
    assert.match(e.message_en, new RegExp(`^row ${e.row}: `));
  }
  for (const srv of [one, chunked]) {
    assert.equal(await count(srv, 'persons'), 1, 'all or nothing');
    assert.equal(await count(srv, 'households'), 0);
  }
});

test('a dry run with partial=1 reports every row as the import would, and keeps nothing', async () => {
  const r = await both('?dry_run=1&partial=1', roster());
  assert.equal(r.status, 200);
  assert.equal(r.json.dry_run, true);
  assert.equal(r.json.inserted, ROWS - expectedRows.length);
  assert.deepEqual(r.json.rows.filter((x) => x.status === 'refused').map((x) => x.row), expectedRows);
  for (const srv of [one, chunked])
    assert.equal(await count(srv, 'persons'), 1);
});

test('partial=1 with bad rows in every chunk: the good rows, their households and heads, the same on both', async () => {
  const r = await both('?partial=1', roster());
  assert.equal(r.status, 200);
  const good = ROWS - expectedRows.length;
  assert.deepEqual([r.json.inserted, r.json.good, r.json.errors.length], [good, good, expectedRows.length]);
  assert.deepEqual(r.json.errors.map((e) => e.row), expectedRows);
  // every address's household is made once: by its head, or by the partner when the head's row was refused
  const households = ROWS / 2;
  assert.deepEqual(r.json.also_created, { households });
  // the file's one audit record names the range of the ids it made
  for (const srv of [one, chunked]) {
    // the audit trail is the auditor's to read (separation of duties)
    const auditor = await srv.login('auditor');
    const trail = await srv.api('GET', '/api/v1/audit?action=import&resource=persons&limit=50', { token: auditor });
    assert.equal(trail.status, 200, trail.text);
    const imp = trail.json.items.filter((x) => x.action === 'import');
    assert.equal(imp.length, 1);
    const [first, last] = imp[0].record_id.split('-').map(Number);
    assert.ok(last - first + 1 >= good, imp[0].record_id);
  }
  for (const srv of [one, chunked]) {
    assert.equal(await count(srv, 'persons'), 1 + good);
    assert.equal(await count(srv, 'households'), households);
    // every household's head is its first row (户主), or none when that row was refused
    const list = await srv.api('GET', `/api/v1/households?limit=1000&q=${encodeURIComponent('沟墩镇墩南1')}`,
      { token: tokens[srv.base] });
    assert.equal(list.status, 200, list.text);
    for (const h of list.json.items) {
      const n = Number(h.address.match(/墩南(\d+)号/)[1]);
      const head = 2 * n;
      if (Object.values(BAD).includes(head)) {
        assert.equal(h.head_person_id, null);
        continue;
      }
      const p = await srv.api('GET', `/api/v1/persons/${h.head_person_id}`, { token: tokens[srv.base] });
      assert.equal(p.json.name, nameOf('李', head));
    }
  }
});

test('the same roster again without update=1: every row refused, chunk after chunk', async () => {
  const r = await both('?partial=1', roster());
  assert.equal(r.status, 200);
  assert.equal(r.json.inserted, 0);
  assert.equal(r.json.errors.length, 1000, 'as many as an answer lists');
  assert.equal(r.json.errors[0].row, 2);
  assert.match(r.json.errors[0].message_en, /already registered as person \d+; to update a roster, import it again with update=1/);
});

test('a re-import with update=1: changed rows updated (audited), the rest unchanged, new rows added', async () => {
  const changed = (i) => (i % 100 === 3 ? `15${String(800000000 + i)}` : `13${String(700000000 + i)}`);
  const more = ROWS + 60;  // 60 new rows at the end, in the last chunk
  const r = await both('?update=1&partial=1', roster(more, { phoneOf: changed }));
  assert.equal(r.status, 200);
  assert.equal(r.json.inserted, 60);
  assert.ok(r.json.updated > 0 && r.json.unchanged > 0, JSON.stringify(r.json).slice(0, 300));
  assert.equal(r.json.inserted + r.json.updated + r.json.unchanged + r.json.errors.length, more);
  const changedRow = r.json.rows.find((x) => x.row === 103 + 2);
  assert.equal(changedRow.status, 'updated');
  assert.deepEqual(Object.keys(changedRow.changes), ['phone']);
  for (const srv of [one, chunked])
    assert.equal(await count(srv, 'persons'), 1 + ROWS - expectedRows.length + 60);
});

test('a clean file of several chunks: every row in, one household per address, ids in file order', async () => {
  const rows = 2100;
  const r = await both('', roster(rows, { bad: {}, idOf: (i) => personId(i + 7000), surname: '周', street: '墩西' }));
  assert.equal(r.status, 200, r.text.slice(0, 300));
  assert.equal(r.json.inserted, rows);
  assert.deepEqual(r.json.also_created, { households: rows / 2 });
  for (const srv of [one, chunked]) {
    const persons = await srv.api('GET', `/api/v1/persons?q=${encodeURIComponent('周')}&limit=1000`, { token: tokens[srv.base] });
    assert.equal(persons.json.total, rows);
    const byRow = persons.json.items.map((p) => [rowOfName(p.name), p.id]).sort((x, y) => x[0] - y[0]);
    for (let k = 1; k < byRow.length; k++)
      assert.ok(byRow[k][1] > byRow[k - 1][1], `ids follow the file: ${byRow[k - 1]} ${byRow[k]}`);
  }
});

test('text a batch must escape arrives whole: backslashes, tabs, line breaks, quotes, a literal \\N', async () => {
  const notes = ['C:\\档案\\2022', '左\t右', '第一行\n第二行', '他说"到了"', '\\N', '\\\\N\\t'];
  const quoted = (t) => `"${t.replace(/"/g, '""')}"`;
  const lines = ['姓名,身份证号,现住址,网格编码,备注'];
  notes.forEach((n, k) => lines.push(`${nameOf('吴', k)},${personId(12000 + k)},沟墩镇墩东${k}号,${GRIDS[0]},${quoted(n)}`));
  const r = await both('', lines.join('\r\n') + '\r\n');
  assert.equal(r.status, 200, r.text.slice(0, 300));
  for (const srv of [one, chunked]) {
    const found = await srv.api('GET', `/api/v1/persons?q=${encodeURIComponent('吴')}&limit=20`, { token: tokens[srv.base] });
    const byRow = Object.fromEntries(found.json.items.map((p) => [rowOfName(p.name), p.note]));
    assert.deepEqual(notes.map((n, k) => byRow[k]), notes);
  }
});

// Without 与户主关系 a chunk is nothing but COPYs, and each one is sent while
// the next is made: a duplicate in it is found only after that, and the
// chunk made on it is dropped and made again.
const withoutHeads = (text) => text.split('\n').map((l) => l.split(',').filter((_, k) => k !== 7).join(',')).join('\n');

test('duplicates found after the next chunk was made (no heads: chunks overlap): the same answers as row by row', async () => {
  const rows = 3300;  // four chunks
  // Rows of one shape (which fields they give) go by one COPY; the last COPY is
  // the one not waited for. Row 1998 is the last of chunk 2 with neither phone
  // nor tags (i % 9 == 0, i % 4 != 0), the shape that comes last in its chunk.
  const bad = { repeats: 1998, registered: 2777 };
  const file = withoutHeads(roster(rows, { bad, idOf: (i) => personId(i + 40000), surname: '郑', street: '墩北' }));
  const refused = [bad.repeats + 2, bad.registered + 2];
  const all = await both('', file);
  assert.equal(all.status, 422);
  assert.deepEqual(all.json.errors.map((e) => e.row), refused);
  assert.match(all.json.errors[0].message, new RegExp(`与本文件第${17 + 2}行重复`));
  assert.match(all.json.errors[1].message, /已登记在人员 \d+ 中/);
  const some = await both('?partial=1', file);
  assert.equal(some.status, 200);
  assert.deepEqual(some.json.errors.map((e) => e.row), refused);
  assert.equal(some.json.inserted, rows - refused.length);
  assert.deepEqual(some.json.also_created, { households: rows / 2 });
  for (const srv of [one, chunked]) {
    const persons = await srv.api('GET', `/api/v1/persons?q=${encodeURIComponent('郑')}&limit=1000`, { token: tokens[srv.base] });
    assert.equal(persons.json.total, rows - refused.length);
    const byRow = persons.json.items.map((p) => [rowOfName(p.name), p.id]).sort((x, y) => x[0] - y[0]);
    for (let k = 1; k < byRow.length; k++)
      assert.ok(byRow[k][1] > byRow[k - 1][1], `ids follow the file: ${byRow[k - 1]} ${byRow[k]}`);
  }
});

// Rows of one table that give different columns (some with tags, a phone
// or a note, some without) go into one COPY of every column on PostgreSQL,
// a column left out written as its default: stored exactly as row by row.
test('rows giving different columns are stored as row by row would store them: what a row leaves out is its default', async () => {
  const lines = ['姓名,身份证号,联系电话,现住址,网格编码,重点人群,备注'];
  for (let k = 0; k < 1500; k++) {
    const phone = k % 3 ? '' : `1390515${String(k).padStart(4, '0')}`;
    lines.push([nameOf('欧', k), personId(15000 + k), phone, `沟墩镇墩南${k % 700}号`, GRIDS[k % 2],
      k % 5 ? '' : '低保对象', k % 7 ? '' : `备注${k}`].join(','));
  }
  const r = await both('', lines.join('\n') + '\n');
  assert.equal(r.status, 200, r.text.slice(0, 300));
  const stored = {};
  for (const srv of [one, chunked]) {
    const all = [];
    for (let cursor = ''; ;) {
      const page = await srv.api('GET', `/api/v1/persons?q=${encodeURIComponent('欧')}&limit=1000${cursor}`, { token: tokens[srv.base] });
      assert.equal(page.status, 200, page.text);
      all.push(...page.json.items);
      if (page.json.next_cursor === null) break;
      cursor = `&cursor=${page.json.next_cursor}`;
    }
    assert.equal(all.length, 1500);
    stored[srv.base] = all.map((p) => comparable(p)).sort((x, y) => rowOfName(x.name) - rowOfName(y.name));
  }
  assert.deepEqual(stored[chunked.base], stored[one.base]);
  const byRow = stored[chunked.base];
  assert.deepEqual(byRow[1].tags, [], 'no tags: the default, not NULL');
  assert.deepEqual(byRow[5].tags, ['低保对象']);
  assert.equal(byRow[7].note, '备注7');
  assert.equal(byRow[1].note ?? null, null);
  assert.equal(byRow[1].version, 1);
});

'use strict';
// The import wizard with a real office roster: dry run, the refused rows
// with their reasons, the error list downloaded as XLSX, then the import for
// real in the background with a progress bar.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./harness');

// The sample files (shared/samples beside the clone, or WG_SAMPLES); without
// them (or with WG_SAMPLES=none) the test makes a roster of the same kind itself.
function roster() {
  const dirs = process.env.WG_SAMPLES === 'none' ? [] : [process.env.WG_SAMPLES, path.join(h.ROOT, '../shared/samples'), '/work/shared/samples'];
  for (const dir of dirs) {
    const f = dir && path.join(dir, '摸排登记表.xlsx');
    if (f && fs.existsSync(f)) return { file: f, good: 194, refused: [45, 62, 81, 94, 154, 166], first: [45, 'id_number', /校验位错误/, /wrong check digit/] };
  }
  const rows = [['序号', '姓名', '性别', '身份证号', '联系电话', '网格编码', '现住址', '重点人群']];
  const ids = ['11010519491231002X', '320923199001011238', '320923198503150022', '320923196007204512'];
  ids.forEach((id, i) => rows.push([i + 1, ['张三', '王芳', '赵六', '周九'][i], '', id, `1380013800${i}`, '32092300100100000001', `1号楼10${i}室`, '']));
  rows.push([5, '钱七', '', '320923199001011239', '', '32092300100100000001', '1号楼105室', '']); // wrong check digit
  rows.push([6, '孙八', '', '320923199001011238', '', '32092300100100000001', '1号楼106室', '']); // row 3 again
  const file = path.join(os.tmpdir(), `wangge-roster-${process.pid}.csv`);
  fs.writeFileSync(file, '\ufeff' + rows.map((r) => r.join(',')).join('\r\n') + '\r\n');
  return { file, good: 4, refused: [6, 7], first: [6, 'id_number', /校验位错误/, /wrong check digit/] };
}

// Reads one entry of a ZIP written without compression (what the page's XLSX writer makes).
function unzipStored(buf, name) {
  let eocd = buf.length - 22;
  while (eocd >= 0 && buf.readUInt32LE(eocd) !== 0x06054b50) eocd--;
  assert.ok(eocd >= 0, 'a ZIP end record');
  const count = buf.readUInt16LE(eocd + 10);
  let p = buf.readUInt32LE(eocd + 16);
  const names = [];
  for (let i = 0; i < count; i++) {
    assert.equal(buf.readUInt32LE(p), 0x02014b50);
    const size = buf.readUInt32LE(p + 20);
    const nlen = buf.readUInt16LE(p + 28);
    const off = buf.readUInt32LE(p + 42);
    const n = buf.toString('utf8', p + 46, p + 46 + nlen);
    names.push(n);
    if (n === name) {
      const local = off + 30 + buf.readUInt16LE(off + 26) + buf.readUInt16LE(off + 28);
      return { text: buf.toString('utf8', local, local + size), names };
    }
    p += 46 + nlen + buf.readUInt16LE(p + 30) + buf.readUInt16LE(p + 32);
  }
  return { text: null, names };
}

let srv, browser, ctx, page, errors, sample;

before(async () => {
  sample = roster();
  srv = await h.startServer();
  browser = await h.launch();
  ctx = await h.context(browser);
  await h.signInApi(ctx, srv.base, 'command');
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
  if (sample && sample.file.startsWith(os.tmpdir())) fs.rmSync(sample.file, { force: true });
});

test('dry run: good rows counted, refused rows listed with the reason in both languages', async () => {
  await page.goto(`${srv.base}/import`);
  await page.click('[data-test=kind-persons]');
  await page.setInputFiles('#imp-file', sample.file);
  await page.click('[data-test=dry-run]');
  await page.locator('[data-test=dry-report]').waitFor();
  assert.match(await page.locator('[data-test=good-count]').innerText(), new RegExp(`可导入 ${sample.good} 行`));
  assert.match(await page.locator('[data-test=refused-count]').innerText(), new RegExp(`被拒绝 ${sample.refused.length} 行`));
  const table = await page.locator('[data-test=error-table]').innerText();
  for (const row of sample.refused) assert.match(table, new RegExp(`(^|\\n)${row}\\s`), `row ${row} listed`);
  const [row, field, zh, en] = sample.first;
  const line = page.locator('[data-test=error-table] .el-table__body tr', { hasText: `第${row}行` }).first();
  const text = await line.innerText();
  assert.ok(text.includes(field), text);
  assert.match(text, zh);
  assert.match(text, en);
  assert.equal((await srv.api('GET', '/api/v1/persons?limit=1', { token: await srv.login('command') })).json.total, 0, 'a dry run keeps nothing');
  await h.shot(page, 'import-report');
});

test('the error list downloads as an XLSX workbook', async () => {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=download-errors]')]);
  assert.match(download.suggestedFilename(), /错误清单\.xlsx$/);
  const buf = fs.readFileSync(await download.path());
  assert.equal(buf.subarray(0, 4).toString('hex'), '504b0304', 'a ZIP file');
  const { text, names } = unzipStored(buf, 'xl/worksheets/sheet1.xml');
  for (const n of ['[Content_Types].xml', 'xl/workbook.xml', 'xl/styles.xml']) assert.ok(names.includes(n), n);
  assert.ok(text, 'the sheet is there');
  assert.equal((text.match(/<row /g) || []).length, sample.refused.length + 1, 'a header and one line per error');
  assert.match(text, new RegExp(`<v>${sample.first[0]}</v>`));
  assert.match(text, sample.first[2]);
  assert.match(text, sample.first[3]);
});

test('the import for real runs in the background with a progress bar', async () => {
  assert.equal(await page.isChecked('[data-test=partial] input'), true);
  await page.click('[data-test=run-import]');
  await page.locator('[data-test=progress]').waitFor();
  await page.waitForFunction(() => /导入完成/.test(document.querySelector('[data-test=progress]')?.innerText || ''), null, { timeout: 30000 });
  assert.match(await page.locator('[data-test=progress]').innerText(), new RegExp(`新增 ${sample.good} 行`));
  assert.match(await page.locator('[data-test=progress] .el-progress').innerText(), /100%/);
  const inView = await page.locator('[data-test=progress]').evaluate((el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; });
  assert.ok(inView, 'the progress is brought into view');
  await h.shot(page, 'import-done');
  const token = await srv.login('command');
  assert.equal((await srv.api('GET', '/api/v1/persons?limit=1', { token })).json.total, sample.good);
  assert.deepEqual(errors, []);
});

'use strict';
// The auditor's questions, asked of the server: who revealed this person's
// whole ID number, and when — by record, action and a time range typed in
// local time (the browser in Europe/Berlin, the server in Asia/Shanghai).
// Then "verify the chain": intact; and after a record was altered behind
// the program's back, the first bad record and why.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./harness');
const helpers = require('../api/helpers');

let srv, data, browser, ctx, page, errors, auditor, person, reveal;

before(async () => {
  // Started without the harness's clean-up: the data directory outlives a restart in the last test.
  srv = await helpers.startServer();
  data = srv.data;
  const command = await srv.login('command');
  const make = async (name, id) => {
    const p = await srv.api('POST', '/api/v1/persons', { token: command, body: { grid_id: h.DEMO.grid, name, id_number: id } });
    assert.equal(p.status, 201, p.text);
    return p.json;
  };
  person = await make('张三', '11010519491231002X');
  const other = await make('李四', '110105194912310038');
  // Whose ID number was seen: 张三's once, 李四's twice; and many plain reads, so the reveal is not on the first page.
  assert.equal((await srv.api('GET', `/api/v1/persons/${person.id}?reveal=1`, { token: command })).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await srv.api('GET', `/api/v1/persons/${other.id}?reveal=1`, { token: command })).status, 200);
  for (let i = 0; i < 120; i++) assert.equal((await srv.api('GET', `/api/v1/persons/${person.id}`, { token: command })).status, 200);
  auditor = await srv.login('auditor');
  // Reads are written in batches: wait until the last one is in the trail.
  const found = await h.eventually(async () => {
    const r = (await srv.api('GET', `/api/v1/audit?resource=persons&record=${person.id}&action=reveal`, { token: auditor })).json;
    const reads = (await srv.api('GET', `/api/v1/audit?resource=persons&record=${person.id}&action=read&limit=1000`, { token: auditor })).json;
    return r.items.length === 1 && reads.items.length === 120 ? r.items[0] : null;
  });
  assert.ok(found, 'the reveal is in the trail');
  reveal = found;
  browser = await h.launch();
  ctx = await h.context(browser, { timezoneId: 'Europe/Berlin' });
  await h.signInApi(ctx, srv.base, 'auditor');
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  try {
    if (srv) await srv.stop();
  } finally {
    fs.rmSync(data.dir, { recursive: true, force: true });
  }
});

const rows = () => page.locator('[data-test=audit-table] .el-table__body tr');

test('who revealed 张三\'s ID number: by record and action, in a time range typed in Beijing time', async () => {
  await page.goto(`${srv.base}/audit`);
  await rows().first().waitFor();
  const latest = (await srv.api('GET', '/api/v1/audit?limit=100', { token: auditor })).json;
  assert.ok(!latest.items.some((x) => x.action === 'reveal' && x.record_id === String(person.id)), 'the reveal is not on the first page');

  const asked = [];
  page.on('request', (r) => { if (/\/api\/v1\/audit\?/.test(r.url())) asked.push(new URL(r.url()).searchParams); });
  await h.pickOption(page, '#a-resource', '(persons)');
  await page.fill('#a-record', String(person.id));
  await h.pickOption(page, '#a-action', '(reveal)');
  const wall = reveal.at_text.slice(0, 19).replace('T', ' ');
  const minute = wall.slice(0, 16);
  await page.fill('#a-from', minute);
  await page.keyboard.press('Enter');
  await page.fill('#a-to', minute);
  await page.keyboard.press('Enter');
  assert.match(await page.locator('[data-test=a-zone]').innerText(), /北京时间/);
  await page.click('[data-test=audit-search]');
  await page.waitForFunction(() => /共 1 条/.test(document.querySelector('[data-test=audit-total]')?.innerText || ''));

  // The server did the filtering: the question went to it whole.
  const q = asked.at(-1);
  assert.equal(q.get('resource'), 'persons');
  assert.equal(q.get('record'), String(person.id));
  assert.equal(q.get('action'), 'reveal');
  const startOfMinute = reveal.at - (reveal.at % 60);
  assert.equal(Number(q.get('from')), startOfMinute, 'from: the minute typed, read in Beijing time');
  assert.equal(Number(q.get('to')), startOfMinute + 59);
  assert.equal(await rows().count(), 1);
  const text = await rows().first().innerText();
  assert.match(text, /command/, 'who');
  assert.match(text, /查看完整信息/, 'what');
  assert.match(text, /人员/);
  assert.ok(text.includes(wall), `when, in Beijing time: ${wall} in ${text}`);
  assert.ok(!text.includes(String(reveal.at)), 'never Unix seconds');
  assert.match(text, /\/1\/2\/3\/4\//, 'where the person is registered');
  await page.mouse.move(0, 0);
  await h.shot(page, 'audit-reveal');

  // The search is in the address: opened again (or sent to a colleague), it shows the same.
  assert.match(page.url(), /action=reveal/);
  assert.match(page.url(), new RegExp(`record=${person.id}`));
  await page.reload();
  await page.waitForFunction(() => /共 1 条/.test(document.querySelector('[data-test=audit-total]')?.innerText || ''));
  assert.equal(await page.inputValue('#a-record'), String(person.id));
  assert.match(await rows().first().innerText(), /command/);

  // Every reveal of persons by anyone: "谁查看了完整身份证号和电话", all three, without a time range.
  await page.click('[data-test=audit-reset]');
  await h.pickOption(page, '#a-resource', '(persons)');
  await page.click('[data-test=audit-preset-reveal]');
  await page.waitForFunction(() => /共 3 条/.test(document.querySelector('[data-test=audit-total]')?.innerText || ''));
  assert.equal(await rows().filter({ hasText: '查看完整信息' }).count(), 3);
  // By the person who did it (?user=).
  await page.fill('#a-user', 'gridworker');
  await page.click('[data-test=audit-search]');
  await page.waitForFunction(() => /共 0 条/.test(document.querySelector('[data-test=audit-total]')?.innerText || ''));
  assert.equal(asked.at(-1).get('user'), 'gridworker');
  assert.deepEqual(errors, []);
});

test('verify the chain: intact, with what was checked', async () => {
  await page.click('[data-test=audit-reset]');
  await page.click('[data-test=audit-verify]');
  const result = page.locator('[data-test=audit-verify-result]');
  await result.waitFor();
  assert.equal(await result.getAttribute('data-intact'), 'true');
  const text = await result.innerText();
  assert.match(text, /审计链完整/);
  const m = /校验了 (\d+) 条记录、(\d+) 个签名检查点、(\d+) 个归档文件/.exec(text);
  assert.ok(m, text);
  assert.ok(Number(m[1]) > 120, 'every record, the reads included');
  await page.mouse.move(0, 0);
  await h.shot(page, 'audit-verify');
  // The check is itself in the trail.
  const verified = await h.eventually(async () => (await srv.api('GET', '/api/v1/audit?action=verify', { token: auditor })).json.items.length > 0);
  assert.ok(verified);
  assert.deepEqual(errors, []);
});

test('verify the chain after a record was altered: the first bad record and why', async () => {
  await srv.stop();
  srv = null;
  helpers.sql(data, "UPDATE audit SET address = '10.9.9.9' WHERE id = 2");
  srv = await helpers.startServer({}, data);
  // Cookies know no port: the old session's cookie goes first.
  await ctx.clearCookies();
  await h.signInApi(ctx, srv.base, 'auditor');
  await page.goto(`${srv.base}/audit`);
  await rows().first().waitFor();
  await page.click('[data-test=audit-verify]');
  const result = page.locator('[data-test=audit-verify-result]');
  await result.waitFor();
  assert.equal(await result.getAttribute('data-intact'), 'false');
  assert.match(await result.innerText(), /审计链已被破坏/);
  assert.match(await page.locator('[data-test=audit-verify-reason]').innerText(), /^第 2 条记录被篡改 \/ record 2 was altered$/);
  assert.match(await page.locator('[data-test=audit-verify-bad]').innerText(), /第 2 条/);
  await page.mouse.move(0, 0);
  await h.shot(page, 'audit-verify-broken');
  // The record itself, listed from its id down.
  await page.click('[data-test=audit-show-bad]');
  await page.waitForFunction(() => document.querySelector('[data-test=audit-table] .el-table__body tr td')?.innerText.trim() === '2');
  assert.match(await rows().first().innerText(), /10\.9\.9\.9/);
  assert.deepEqual(errors, []);
});

'use strict';
// The control lists on the desktop: the list of people under control
// (filters, pages, names masked, export), a record opened from it (the person
// found by name or ID number, a person already under control linked, what
// the preset leaves open asked for), a record's page (a release refused
// with the missing condition named, then released by override with a reason;
// the team with its errors by field; transfer; close), a city's list imported
// with ?category= through background jobs (dry run first), the alerts handled and closed with a note, the daily
// roll-up with its figures equal to the API's and drilled down, a site's
// intake and discharge, and a NAT round's progress. The browser runs in
// Berlin: every time shown must be Beijing time, as the API's local twin says.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./harness');

let srv, browser, ctx, page, errors, command, community;
const P = {}; // name → person
const R = {}; // name → control record

const DAY = 86400 * 1000;
const beijingDate = (ms = Date.now()) => new Date(ms + 8 * 3600 * 1000).toISOString().slice(0, 10);
const today = beijingDate();
const daysAgo = (n) => beijingDate(Date.now() - n * DAY);
// What a person reads from a local twin: '2026-12-06T08:10:00+08:00' → '2026-12-06 08:10'.
const shown = (iso) => `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;

async function call(method, path, body, token = command) {
  const r = await srv.api(method, path, { token, body });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}
const rows = (sel) => page.locator(`${sel} .el-table__body-wrapper tr`);

before(async () => {
  srv = await h.startServer();
  [command, community] = await Promise.all([srv.login('command'), srv.login('community')]);
  // Persons of the demo grid: most under control (more than one page of the list), some on a city's list later.
  const names = ['张建国', '李秀英', '王磊', '赵敏', '刘洋', '陈静', '杨帆', '黄丽', '周强', '吴芳', '徐涛', '孙娜',
    '马超', '朱琳', '胡军', '郭敏', '何平', '高洁', '林峰', '罗娟', '梁斌', '宋佳', '郑凯', '谢婷', '韩雪', '唐亮'];
  for (const [i, name] of names.entries()) {
    const body = { grid_id: h.DEMO.grid, name, id_number: h.idNumber(`19${60 + i}-0${1 + (i % 9)}-1${i % 10}`, 100 + i), phone: `1390000${1000 + i}` };
    P[name] = { ...(await call('POST', '/api/v1/persons', body)), id_number: body.id_number, phone: body.phone };
  }
  const open = async (name, body) => { R[name] = await call('POST', '/api/v1/controls', { person_id: P[name].id, ...body }, community); };
  await open('张建国', { category: 'close', start_date: daysAgo(2), source: '市指挥部推送' }); // central, day 3 of 10
  await open('李秀英', { category: 'secondary', start_date: daysAgo(6) }); // days served, NAT missing
  await open('王磊', { category: 'secondary', start_date: daysAgo(1) });
  await open('赵敏', { category: 'spatiotemporal', start_date: today });
  await open('刘洋', { category: 'pushed', mode: 'home_isolation', start_date: daysAgo(3), end_date: daysAgo(-3) });
  for (const name of names.slice(5, 22)) await open(name, { category: 'close', start_date: daysAgo(1) });
  browser = await h.launch();
  ctx = await h.context(browser, { timezoneId: 'Europe/Berlin' });
  await h.signInApi(ctx, srv.base, 'community');
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test('the list: every active record of the scope over pages, names masked, filtered by category and place, exported', async () => {
  const api = await call('GET', '/api/v1/controls?status=active&limit=500', undefined, community);
  assert.ok(api.total > 20, 'more than one page');
  await page.goto(`${srv.base}/controls`);
  await page.waitForFunction((n) => document.querySelector('[data-test=ctl-total]')?.innerText === `共 ${n} 条`, api.total);
  assert.match(await page.locator('[data-test=ctl-pager]').innerText(), new RegExp(`第 1 / ${Math.ceil(api.total / 20)} 页`));
  const seen = [];
  const readPage = async () => {
    for (const id of await page.locator('[data-test=ctl-table] a[data-test^=ctl-open-]').allInnerTexts()) seen.push(Number(id.slice(1)));
  };
  await readPage();
  assert.equal(seen.length, 20);
  await page.click('[data-test=ctl-next]');
  await page.waitForFunction(() => /第 2 \//.test(document.querySelector('[data-test=ctl-pager]')?.innerText || '') && !document.querySelector('[data-test=ctl-table] .el-loading-mask'));
  await readPage();
  assert.deepEqual(seen.sort((a, b) => a - b), api.items.map((x) => x.id).sort((a, b) => a - b), 'the pages hold each active record once');

  // A record as a person reads it: masked name, category, mode, day N of M, the team.
  await page.click('[data-test=ctl-prev]');
  const zhang = api.items.find((x) => x.person_id === P['张建国'].id);
  const row = page.locator('[data-test=ctl-table] .el-table__body tr', { has: page.locator(`[data-test=ctl-open-${zhang.id}]`) });
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /张\*\*/, 'the name is masked');
  assert.ok(!text.includes('张建国'));
  assert.match(text, /密接/);
  assert.match(text, /集中隔离/);
  assert.ok(text.includes(`第 ${zhang.day_no} / 10 天`), text);
  assert.equal(zhang.day_no, 3);
  assert.match(text, /网格员小王/, 'the grid worker of the team');
  await page.click('[data-test=c-names]');
  await page.waitForFunction((id) => [...document.querySelectorAll('[data-test=ctl-table] .el-table__body tr')].some((tr) => tr.innerText.includes(`#${id}`) && tr.innerText.includes('张建国')), zhang.id);

  // Narrowed: a category, then a place.
  await h.pickOption(page, '#c-category', '次密接');
  await page.click('[data-test=c-search]');
  const secondary = await call('GET', '/api/v1/controls?status=active&category=secondary', undefined, community);
  await page.waitForFunction((n) => document.querySelector('[data-test=ctl-total]')?.innerText === `共 ${n} 条`
    && document.querySelectorAll('[data-test=ctl-table] .el-table__body tr').length === n, secondary.total);
  assert.equal(secondary.total, 2);
  const kids = (await call('GET', `/api/v1/grids/${h.DEMO.community}/children`)).items;
  const other = kids.find((k) => k.id !== h.DEMO.grid);
  await h.pickOption(page, '#c-grid', `#${other.id}`, { type: other.name });
  await page.click('[data-test=c-search]');
  await page.waitForFunction(() => document.querySelector('[data-test=ctl-total]')?.innerText === '共 0 条');
  assert.match(await page.getAttribute('[data-test=ctl-export-xlsx]', 'href'), new RegExp(`grid=${other.id}&category=secondary`));
  await h.pickOption(page, '#c-grid', `#${h.DEMO.grid}`, { type: '第1网格' });
  await page.click('[data-test=c-search]');
  await page.waitForFunction(() => document.querySelector('[data-test=ctl-total]')?.innerText === '共 2 条');

  // The export follows the filters: the server's CSV and XLSX.
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=ctl-export-csv]')]);
  const body = fs.readFileSync(await csv.path(), 'utf8').replace(/^\ufeff/, '').trim().split(/\r?\n/);
  assert.match(body[0], /^编号,人员编号,姓名/);
  assert.equal(body.length, 3, 'a header and the two secondary records');
  assert.ok(body.slice(1).every((l) => l.includes('次密接')));
  const [xlsx] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=ctl-export-xlsx]')]);
  assert.equal(fs.readFileSync(await xlsx.path()).subarray(0, 2).toString(), 'PK');
  await page.click('[data-test=c-reset]');
  await page.waitForFunction((n) => document.querySelector('[data-test=ctl-total]')?.innerText === `共 ${n} 条`, api.total);
  await page.click('[data-test=c-names]');
  await h.shot(page, 'control-list');
  assert.deepEqual(errors, []);
});

/** Waits for the new record's page; a refusal shown in the dialog instead fails with its words. */
async function opened() {
  const refusal = page.locator('.el-dialog .el-form-item__error, [data-test=open-error]').first();
  const r = await Promise.race([
    page.waitForURL((u) => /\/controls\/\d+$/.test(u.pathname)).then(() => null),
    refusal.waitFor().then(() => refusal.innerText()),
  ]);
  assert.equal(r, null, `the record was not opened: ${r}`);
}

test('a record opened from the list: the person found by name or ID number, the fields the preset leaves open named, a person already under control linked', async () => {
  await page.goto(`${srv.base}/controls`);
  await page.click('[data-test=ctl-open]');
  // Already under control: the refusal at the person, with the record that holds them.
  await h.pickOption(page, '#co-person', '张建国', { type: '张建' });
  await page.click('[data-test=co-save]');
  const personError = page.locator('[data-test=co-person-item] .el-form-item__error');
  await personError.waitFor();
  assert.ok((await personError.innerText()).includes(`已在管控中(管控记录 ${R['张建国'].id})`), await personError.innerText());
  await page.locator('[data-test=co-existing] a').waitFor();
  assert.equal(await page.getAttribute('[data-test=co-existing] a', 'href'), `/controls/${R['张建国'].id}`);

  // Found by a whole ID number; a secondary contact under 二十条, which does not set that category: mode and end are asked for.
  const xie = P['谢婷'];
  await h.pickOption(page, '#co-person', `#${xie.id}`, { type: xie.id_number });
  assert.equal(await page.locator('[data-test=co-existing]').count(), 0);
  await h.pickOption(page, '#co-category', '次密接');
  await h.pickOption(page, '#co-preset', '二十条');
  assert.match(await page.locator('[data-test=co-plan]').innerText(), /方案未规定这一类别/);
  assert.equal(await page.locator('#co-site').count(), 0, 'no site to choose outside central isolation');
  await page.click('[data-test=co-save]');
  const modeError = page.locator('.el-dialog .el-form-item', { has: page.locator('#co-mode') }).locator('.el-form-item__error');
  await modeError.waitFor();
  assert.match(await modeError.innerText(), /未规定“次密接”的管控方式和期限/);
  assert.equal((await call('GET', `/api/v1/controls?person_id=${xie.id}`)).total, 0, 'nothing opened');
  await h.pickOption(page, '#co-mode', '居家隔离');
  await modeError.waitFor({ state: 'detached' }).catch(() => {});
  const end = daysAgo(-6);
  await page.fill('#co-end', end);
  await page.keyboard.press('Enter');
  await page.fill('[data-test=co-source]', '市指挥部推送 第3批');
  assert.equal(await page.inputValue('#co-end'), end);
  assert.match(await page.locator('.el-dialog .el-form-item', { has: page.locator('#co-mode') }).innerText(), /居家隔离/);
  await page.click('[data-test=co-save]');
  await opened();
  const id = Number(page.url().split('/').pop());
  const rec = await call('GET', `/api/v1/controls/${id}`);
  assert.deepEqual([rec.person_id, rec.category, rec.mode, rec.preset, rec.start_date, rec.end_date, rec.source, rec.status],
    [xie.id, 'secondary', 'home_isolation', 'twenty', today, end, '市指挥部推送 第3批', 'active']);
  await page.waitForFunction(() => document.querySelector('[data-test=rec-mode]')?.innerText === '居家隔离');

  // Found by name, under the default preset: its plan shown, the dates left to it.
  await page.goto(`${srv.base}/controls`);
  await page.click('[data-test=ctl-open]');
  await h.pickOption(page, '#co-person', '郑凯', { type: '郑凯' });
  await page.waitForFunction(() => /集中隔离 7 天,再居家健康监测 3 天/.test(document.querySelector('[data-test=co-plan]')?.innerText || ''));
  assert.equal(await page.locator('#co-site').count(), 1, 'central isolation: a site may be named');
  await h.shot(page, 'control-open');
  await page.click('[data-test=co-save]');
  await opened();
  const zheng = await call('GET', `/api/v1/controls/${page.url().split('/').pop()}`);
  assert.deepEqual([zheng.person_id, zheng.category, zheng.mode, zheng.preset, zheng.start_date], [P['郑凯'].id, 'close', 'central', 'v9', today]);
  assert.equal(zheng.end_date, daysAgo(-9));
  assert.deepEqual(errors, []);
});

test('a release refused names what is missing; the command center releases by override with a reason', async () => {
  const li = R['李秀英'];
  await page.goto(`${srv.base}/controls/${li.id}`);
  await page.locator('[data-test=cond-ready]').waitFor();
  assert.equal(await page.locator('[data-test=cond-ready]').innerText(), '还不能解除');
  const cond = await call('GET', `/api/v1/controls/${li.id}/conditions`, undefined, community);
  assert.deepEqual(cond.nat_missing, [1, 4, 7]);
  assert.equal(cond.days_served, true);
  assert.match(await page.locator('[data-test=cond-nat]').innerText(), /缺第 1、4、7 天的核酸阴性结果/);
  assert.match(await page.locator('[data-test=cond-days]').innerText(), /已满/);

  // The community may release, not by override: the server's refusal is shown under the NAT condition.
  await page.click('[data-test=act-release]');
  assert.equal(await page.locator('[data-test=f-override]').count(), 0, 'no override for the community');
  await page.click('[data-test=dlg-submit]');
  const natError = page.locator('[data-test=dlg-nat] .el-form-item__error');
  await natError.waitFor();
  assert.match(await natError.innerText(), /第 1,4,7 天的核酸阴性结果未齐,不能解除/);
  assert.equal(await page.locator('[data-test=dlg-end_date] .el-form-item__error').count(), 0, 'the days are served');
  assert.equal((await call('GET', `/api/v1/controls/${li.id}`, undefined, community)).status, 'active');
  await h.shot(page, 'control-release-refused');
  await page.keyboard.press('Escape');

  // Days not served: named under the days.
  await page.goto(`${srv.base}/controls/${R['张建国'].id}`);
  await page.click('[data-test=act-release]');
  await page.click('[data-test=dlg-submit]');
  await page.locator('[data-test=dlg-end_date] .el-form-item__error').waitFor();
  assert.match(await page.locator('[data-test=dlg-end_date] .el-form-item__error').innerText(), /管控期限未满:预计解除日期为/);

  // The command center: override, first without a reason (named under the reason), then with one.
  const cmd = await ctx.browser().newContext({ viewport: h.DESKTOP, timezoneId: 'Europe/Berlin', locale: 'zh-CN' });
  await h.signInApi(cmd, srv.base, 'command');
  const p2 = await cmd.newPage();
  const errors2 = h.watchErrors(p2);
  await p2.goto(`${srv.base}/controls/${li.id}`);
  await p2.click('[data-test=act-release]');
  await p2.click('[data-test=f-override]');
  await p2.click('[data-test=dlg-submit]');
  const reasonItem = p2.locator('.el-form-item', { has: p2.locator('#f-reason') });
  await reasonItem.locator('.el-form-item__error').waitFor();
  assert.match(await reasonItem.locator('.el-form-item__error').innerText(), /特批解除须写明原因/);
  await p2.fill('#f-reason', '经专家组评估,同意提前解除');
  await p2.click('[data-test=dlg-submit]');
  await p2.waitForFunction(() => document.querySelector('[data-test=rec-status]')?.innerText === '已解除');
  const rec = await call('GET', `/api/v1/controls/${li.id}`);
  assert.equal(rec.status, 'released');
  assert.equal(rec.override, true);
  assert.equal(rec.end_reason, '经专家组评估,同意提前解除');
  assert.equal(await p2.locator('[data-test=rec-end-reason]').innerText(), rec.end_reason);
  assert.match(await p2.locator('[data-test=rec-ended]').innerText(), /特批解除/);
  const hist = await p2.locator('[data-test=history]').innerText();
  assert.match(hist, /解除管控/);
  assert.match(hist, /在管 → 已解除/);
  assert.equal(await p2.locator('[data-test=act-release]').count(), 0, 'nothing more to do on a released record');
  assert.deepEqual(errors2, []);
  await cmd.close();
});

test("the team: a wrong phone is named on its row; the right one is kept", async () => {
  const rec = R['王磊'];
  await page.goto(`${srv.base}/controls/${rec.id}`);
  await page.click('[data-test=team-edit]');
  await page.fill('[data-test=team-name-police]', '李警官');
  await page.fill('[data-test=team-phone-police]', '12345');
  await page.click('[data-test=team-save]');
  const policeRow = page.locator('[data-test=team] .el-table__body tr', { hasText: '公安民警' });
  await policeRow.locator('.el-form-item__error').waitFor();
  assert.match(await policeRow.locator('.el-form-item__error').innerText(), /联系电话无效/);
  assert.equal(await page.locator('[data-test=team] .el-form-item__error').count(), 1, 'only that field');
  await page.fill('[data-test=team-phone-police]', '13912345678');
  await page.click('[data-test=team-save]');
  await page.locator('[data-test=team-edit]').waitFor();
  const team = (await call('GET', `/api/v1/controls/${rec.id}`, undefined, community)).team;
  const police = team.find((m) => m.role === 'police');
  assert.equal(police.name, '李警官');
  assert.equal(police.phone, '13912345678');
  assert.match(await policeRow.innerText(), /李警官\s+13912345678/);
});

test('transfer opens the next record of the chain; close needs a reason', async () => {
  const rec = R['王磊'];
  await page.goto(`${srv.base}/controls/${rec.id}`);
  await page.click('[data-test=act-transfer]');
  const fieldError = (id) => page.locator('.el-dialog .el-form-item', { has: page.locator(id) }).locator('.el-form-item__error');
  await page.click('[data-test=dlg-submit]');
  await fieldError('#f-reason').waitFor();
  assert.match(await fieldError('#f-reason').innerText(), /缺少必填字段 reason/);
  await page.fill('#f-reason', '居家隔离期满转居家健康监测');
  await page.click('[data-test=dlg-submit]');
  await fieldError('#f-mode').waitFor();
  assert.match(await fieldError('#f-mode').innerText(), /转出须改变管控方式、网格或隔离点之一/);
  await fieldError('#f-reason').waitFor({ state: 'detached' }); // the reason is right now
  await h.pickOption(page, '#f-mode', '居家健康监测');
  await page.click('[data-test=dlg-submit]');
  await page.waitForURL((u) => /\/controls\/\d+$/.test(u.pathname) && !u.pathname.endsWith(`/${rec.id}`));
  const next = Number(page.url().split('/').pop());
  const [from, to] = await Promise.all([call('GET', `/api/v1/controls/${rec.id}`), call('GET', `/api/v1/controls/${next}`)]);
  assert.equal(from.status, 'transferred');
  assert.equal(to.previous_id, rec.id);
  assert.equal(to.mode, 'home_monitoring');
  await page.waitForFunction(() => document.querySelector('[data-test=rec-mode]')?.innerText === '居家健康监测');
  assert.match(await page.locator('[data-test=history]').innerText(), /转出[\s\S]*转入/, 'the chain keeps its history');

  await page.click('[data-test=act-close]');
  await page.click('[data-test=dlg-submit]');
  const reasonItem = page.locator('.el-form-item', { has: page.locator('#f-reason') });
  await reasonItem.locator('.el-form-item__error').waitFor();
  assert.match(await reasonItem.locator('.el-form-item__error').innerText(), /缺少必填字段 reason/);
  await page.fill('#f-reason', '录入错误');
  await page.click('[data-test=dlg-submit]');
  await page.waitForFunction(() => document.querySelector('[data-test=rec-status]')?.innerText === '已关闭');
  assert.equal((await call('GET', `/api/v1/controls/${next}`)).status, 'closed');
});

test("a city's list of secondary contacts: dry run lists the person not found, then the rest are imported", async () => {
  const csv = ['序号,姓名,身份证号,联系电话',
    `1,韩雪,${P['韩雪'].id_number},`,
    `2,唐亮,,${P['唐亮'].phone}`,
    `3,查无此人,${h.idNumber('1999-04-20', 999)},`].join('\r\n') + '\r\n';
  await page.goto(`${srv.base}/controls/import`);
  assert.equal(await page.locator('h1').innerText(), '导入管控名单');
  await h.pickOption(page, '#imp-category', '次密接');
  await page.setInputFiles('#imp-file', { name: '市推送次密接名单.csv', mimeType: 'text/csv', buffer: Buffer.from('\ufeff' + csv) });
  // The dry run and the import both run as background jobs (the list's category kept), followed by GET /jobs/{id}.
  const posts = [];
  const polls = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (r.method() === 'POST' && u.pathname === '/api/v1/controls/import') posts.push(Object.fromEntries(u.searchParams));
    if (r.method() === 'GET' && /^\/api\/v1\/jobs\/\d+$/.test(u.pathname)) polls.push(u.pathname);
  });
  await page.click('[data-test=dry-run]');
  await page.locator('[data-test=dry-report]').waitFor();
  assert.deepEqual(posts, [{ category: 'secondary', dry_run: '1', partial: '1', async: '1' }]);
  assert.ok(polls.length >= 1, 'the dry run is followed through its job');
  assert.equal(await page.locator('[data-test=good-count]').innerText(), '可导入 2 行');
  assert.equal(await page.locator('[data-test=refused-count]').innerText(), '被拒绝 1 行');
  const bad = await page.locator('[data-test=error-table] .el-table__body tr').innerText();
  assert.match(bad, /^4\s+id_number\s+第4行:您的管辖范围内没有身份证号为该号码的登记人员/);
  await h.shot(page, 'control-import');
  assert.equal((await call('GET', `/api/v1/controls?person_id=${P['韩雪'].id}`)).total, 0, 'a dry run writes nothing');
  await page.click('[data-test=run-import]');
  await page.waitForFunction(() => /导入完成:新增 2 行/.test(document.querySelector('[data-test=progress]')?.innerText || ''));
  assert.deepEqual(posts[1], { category: 'secondary', partial: '1', async: '1' });
  assert.equal(new Set(polls).size, 2, 'each job followed to its end');
  for (const name of ['韩雪', '唐亮']) {
    const r = await call('GET', `/api/v1/controls?person_id=${P[name].id}`);
    assert.equal(r.total, 1, name);
    assert.equal(r.items[0].category, 'secondary');
    assert.equal(r.items[0].mode, 'home_isolation');
  }
});

test('alerts: a fever shown in Beijing time, handled with a note (named when missing), then closed', async () => {
  const rec = R['赵敏'];
  const check = await call('POST', `/api/v1/controls/${rec.id}/checks`, { temperature: 38.2 }, command);
  assert.equal(check.alerts.length, 1);
  const alert = await call('GET', `/api/v1/alerts/${check.alerts[0]}`, undefined, community);
  await page.goto(`${srv.base}/controls/alerts`);
  const row = page.locator('[data-test=alerts-table] .el-table__body tr', { has: page.locator(`[data-test=alert-handle-${alert.id}]`) });
  await row.waitFor();
  const text = await row.innerText();
  assert.ok(text.includes(shown(alert.raised_at_text)), `raised at ${alert.raised_at_text} in Beijing: ${text}`);
  assert.match(text, /赵敏[\s\S]*发热[\s\S]*体温 38\.2/);
  assert.match(text, /待处置/);
  const open = await call('GET', '/api/v1/alerts?status=open', undefined, community);
  assert.equal(await page.locator('[data-test=alerts-total]').innerText(), `共 ${open.total} 条`);
  await h.shot(page, 'control-alerts');

  await page.click(`[data-test=alert-handle-${alert.id}]`);
  await page.click('[data-test=alert-save]');
  const noteItem = page.locator('.el-form-item', { has: page.locator('#al-note') });
  await noteItem.locator('.el-form-item__error').waitFor();
  assert.match(await noteItem.locator('.el-form-item__error').innerText(), /note/);
  await page.fill('#al-note', '已上门复测 37.1 °C,报告社区医生');
  await page.click('[data-test=alert-save]');
  await page.locator('.el-dialog').waitFor({ state: 'detached' });
  let a = await call('GET', `/api/v1/alerts/${alert.id}`, undefined, community);
  assert.equal(a.status, 'handled');
  assert.equal(a.handle_note, '已上门复测 37.1 °C,报告社区医生');
  // Handled alerts leave the list of open ones.
  await page.waitForFunction((id) => !document.querySelector(`[data-test=alert-handle-${id}]`) && !document.querySelector('[data-test=alerts-table] .el-loading-mask'), alert.id);
  await h.pickOption(page, '#a-status', '已处置');
  const hrow = page.locator('[data-test=alerts-table] .el-table__body tr', { has: page.locator(`[data-test=alert-close-${alert.id}]`) });
  await hrow.waitFor();
  assert.ok((await hrow.innerText()).includes(shown(a.handled_at_text)), 'handled at, in Beijing time');
  await page.click(`[data-test=alert-close-${alert.id}]`);
  await page.fill('#al-note', '复测正常,解除预警');
  await page.click('[data-test=alert-save]');
  await page.locator('.el-dialog').waitFor({ state: 'detached' });
  a = await call('GET', `/api/v1/alerts/${alert.id}`, undefined, community);
  assert.equal(a.status, 'closed');
  assert.equal(a.close_note, '复测正常,解除预警');
});

test("the day's check sheet: the checks the API holds for the day, the fever marked, in Beijing time, exported as the server's sheet", async () => {
  const rec = R['黄丽']; // in force (王磊's was transferred above)
  const fever = await call('POST', `/api/v1/controls/${rec.id}/checks`, { temperature: 38.6, symptoms: ['dry_cough'] }, command);
  await page.goto(`${srv.base}/controls/checks`);
  await page.locator(`[data-test=check-temp-${fever.id}]`).waitFor();
  const api = await call('GET', `/api/v1/checks?date=${today}&limit=500`, undefined, command);
  assert.equal(await page.locator('[data-test=checks-total]').innerText(), `共 ${api.total} 条`);
  const row = page.locator('[data-test=checks-table] .el-table__body tr', { has: page.locator(`[data-test=check-temp-${fever.id}]`) });
  const text = await row.innerText();
  assert.ok(text.includes(shown(fever.at_text)), `checked at ${fever.at_text} in Beijing: ${text}`);
  assert.match(text, /黄丽[\s\S]*38\.6 °C[\s\S]*发热[\s\S]*干咳/);
  assert.match(await row.getAttribute('class'), /wg-row-alert/);
  await h.shot(page, 'control-checks');
  // The export links carry the day; the sheet they fetch is the server's, with the fever in it.
  const href = await page.locator('[data-test=checks-export-csv]').getAttribute('href');
  assert.equal(href, `/api/v1/checks/export?format=csv&date=${today}`);
  const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
  assert.match(csv, /黄丽.*38\.6.*是.*干咳/);
  // Another day: what the API holds for it (none ten days ago, before any record).
  await page.fill('#cs-date', daysAgo(40));
  await page.keyboard.press('Enter');
  await page.locator('[data-test=checks-total]', { hasText: '共 0 条' }).waitFor();
  assert.match(await page.locator('[data-test=checks-table]').innerText(), new RegExp(`${daysAgo(40)} 没有登记的监测`));
});

test('the roll-up: figures equal to the API, for any node and day, drilled down to the grids, exported', async () => {
  const cmd = await ctx.browser().newContext({ viewport: h.DESKTOP, timezoneId: 'Europe/Berlin', locale: 'zh-CN', acceptDownloads: true });
  await h.signInApi(cmd, srv.base, 'command');
  const p = await cmd.newPage();
  const errs = h.watchErrors(p);
  const figures = async (node) => call('GET', `/api/v1/controls/rollup?node=${node}&children=1`);
  // One table row: the named columns' figures.
  const rowFigures = async (index, cols) => {
    const tr = p.locator('[data-test=rollup-table] .el-table__body-wrapper tr').nth(index);
    const out = {};
    for (const c of cols) out[c] = Number(await tr.locator(`[data-col=${c}]`).innerText());
    return out;
  };
  await p.goto(`${srv.base}/controls/rollup`);
  const county = await figures(h.DEMO.county);
  await p.waitForFunction((n) => document.querySelector('[data-test=fig-active]')?.innerText === String(n), county.controls.active);
  assert.equal(Number(await p.locator('[data-test=fig-checks-missing]').innerText()), county.checks.missing);
  assert.equal(Number(await p.locator('[data-test=fig-nat-missing]').innerText()), county.nat.not_sampled);
  assert.equal(Number(await p.locator('[data-test=fig-alerts-open]').innerText()), county.alerts.open);
  assert.deepEqual(await rowFigures(0, ['active', 'cat_close', 'cat_secondary', 'mode_central', 'opened', 'released']), {
    active: county.controls.active, cat_close: county.controls.by_category.close, cat_secondary: county.controls.by_category.secondary,
    mode_central: county.controls.by_mode.central, opened: county.controls.on_day.opened, released: county.controls.on_day.released,
  });
  assert.ok(county.controls.active >= 20);

  // Down to the street, the community, the grid: each level's rows are the API's children.
  for (const node of [h.DEMO.street, h.DEMO.community, h.DEMO.grid]) {
    await p.click(`[data-test=rollup-open-${node}]`);
    const want = await figures(node);
    await p.waitForFunction((name) => document.querySelector('[data-test=rollup-trail] [aria-current=page]')?.innerText === name, want.node.name);
    await p.waitForFunction((n) => document.querySelectorAll('[data-test=rollup-table] .el-table__body-wrapper tr').length === n, want.children.length + 1);
    for (const [i, child] of want.children.entries()) {
      assert.deepEqual(await rowFigures(i + 1, ['active', 'cat_close', 'mode_home_isolation']), {
        active: child.controls.active, cat_close: child.controls.by_category.close, mode_home_isolation: child.controls.by_mode.home_isolation,
      }, child.node.name);
    }
  }
  const grid = await figures(h.DEMO.grid);
  await p.click('[data-test=rollup-view-checks]');
  assert.deepEqual(await rowFigures(0, ['checks_due', 'checks_done', 'fever', 'nat_due', 'nat_sampled', 'alerts_raised', 'alerts_handled']), {
    checks_due: grid.checks.due, checks_done: grid.checks.done, fever: grid.checks.fever, nat_due: grid.nat.due, nat_sampled: grid.nat.sampled,
    alerts_raised: grid.alerts.raised, alerts_handled: grid.alerts.handled,
  });
  assert.ok(grid.checks.fever >= 1 && grid.alerts.raised >= 1, 'the fever of the alerts test is counted');

  // Yesterday: the figures of that day.
  const yesterday = daysAgo(1);
  await p.fill('#r-date', yesterday);
  await p.keyboard.press('Enter');
  const y = await call('GET', `/api/v1/controls/rollup?node=${h.DEMO.grid}&date=${yesterday}&children=1`);
  await p.waitForFunction(([d, n]) => document.querySelector('h1')?.innerText.includes(d) && document.querySelector('[data-test=fig-active]')?.innerText === String(n), [yesterday, y.controls.active]);
  assert.notEqual(y.controls.active, grid.controls.active, 'another day, other figures');
  assert.match(await p.getAttribute('[data-test=rollup-export-xlsx]', 'href'), new RegExp(`node=${h.DEMO.grid}&date=${yesterday}&format=xlsx`));
  const [csv] = await Promise.all([p.waitForEvent('download'), p.click('[data-test=rollup-export-csv]')]);
  const lines = fs.readFileSync(await csv.path(), 'utf8').replace(/^\ufeff/, '').trim().split(/\r?\n/);
  assert.match(lines[0], /^节点编号,节点,层级,日期,在管人数/);
  assert.equal(lines[1].split(',')[4], String(y.controls.active), "the export's figure is the page's");
  await p.fill('#r-date', today);
  await p.keyboard.press('Enter');
  await p.click('[data-test=rollup-view-controls]');
  await p.waitForFunction((n) => document.querySelector('[data-test=fig-active]')?.innerText === String(n), grid.controls.active);
  // The grid's buildings hold no records: a sentence, not a chart of zeros.
  assert.match(await p.locator('[data-test=rollup-chart-empty]').innerText(), /下级都没有在管人员/);
  assert.equal(await p.locator('[data-test=rollup-chart]').isVisible(), false);
  // Back up the trail to the community: its grids' chart.
  const community = await figures(h.DEMO.community);
  await p.locator('[data-test=rollup-trail] button', { hasText: community.node.name }).click();
  await p.waitForFunction((name) => document.querySelector('[data-test=rollup-trail] [aria-current=page]')?.innerText === name, community.node.name);
  await p.locator('[data-test=rollup-chart]').waitFor({ state: 'visible' });
  assert.equal(await p.locator('[data-test=rollup-chart-empty]').count(), 0);
  await p.evaluate(() => window.scrollTo(0, 0));
  await h.shot(p, 'control-rollup');
  assert.deepEqual(errs, []);
  await cmd.close();
});

test('a site: a central record taken in and sent home; occupancy by day', async () => {
  // The demo's site hangs on the street: the command center runs it.
  const site = (await call('GET', '/api/v1/sites')).items[0];
  const rec = R['张建国'];
  const cmd = await ctx.browser().newContext({ viewport: h.DESKTOP, timezoneId: 'Europe/Berlin', locale: 'zh-CN' });
  await h.signInApi(cmd, srv.base, 'command');
  const page = await cmd.newPage();
  const errs = h.watchErrors(page);
  await page.goto(`${srv.base}/controls/sites/${site.id}`);
  await page.waitForFunction((n) => document.querySelector('[data-test=site-capacity]')?.innerText === String(n), site.capacity);
  const before = Number(await page.locator('[data-test=site-occupied]').innerText());
  assert.equal(before, site.occupied);
  await page.click('[data-test=intake-open]');
  await h.pickOption(page, '#i-control', `#${rec.id}`);
  await h.pickOption(page, '#i-room', '101');
  await page.click('[data-test=site-dlg-submit]');
  await page.locator('.el-dialog').waitFor({ state: 'detached' });
  await page.waitForFunction((n) => document.querySelector('[data-test=site-occupied]')?.innerText === String(n), before + 1);
  const stay = (await call('GET', `/api/v1/sites/${site.id}/stays?current=1`)).items.find((s) => s.control_id === rec.id);
  assert.equal(stay.room_no, '101');
  const row = page.locator('[data-test=stays-table] .el-table__body tr', { hasText: '张建国' });
  assert.ok((await row.innerText()).includes(shown(stay.intake_at_text)), 'intake time in Beijing');
  await h.shot(page, 'control-site');

  await page.click(`[data-test=discharge-${stay.id}]`);
  await page.locator('.el-dialog .el-radio', { hasText: '居家健康监测' }).click();
  await page.click('[data-test=site-dlg-submit]');
  await page.locator('.el-dialog').waitFor({ state: 'detached' });
  await page.waitForFunction((n) => document.querySelector('[data-test=site-occupied]')?.innerText === String(n), before);
  const after = await call('GET', `/api/v1/controls?chain_id=${rec.chain_id}&status=active`);
  assert.equal(after.items[0].mode, 'home_monitoring', 'discharged home: the chain goes on at home');

  await page.locator('.el-tabs__item', { hasText: '每天占用' }).click();
  const occ = await call('GET', `/api/v1/sites/${site.id}/occupancy`);
  await page.waitForFunction((n) => document.querySelectorAll('[data-test=occupancy-table] .el-table__body tr').length === n, occ.days.length);
  const last = occ.days[occ.days.length - 1];
  assert.equal(last.date, today);
  assert.match(await page.locator('[data-test=occupancy-table] .el-table__body tr').last().innerText(), new RegExp(`${today}\\s+${last.occupied}\\s+${last.intakes}\\s+${last.discharges}`));
  assert.deepEqual(errs, []);
  await cmd.close();
});

test("a NAT round: each grid's progress as the API counts it", async () => {
  await call('POST', '/api/v1/nat-rounds/1/refresh', {});
  const progress = await call('GET', `/api/v1/nat-rounds/1/progress?node=${h.DEMO.community}`, undefined, community);
  await page.goto(`${srv.base}/controls/nat/1`);
  await page.waitForFunction((n) => document.querySelectorAll('[data-test=progress-table] .el-table__body tr').length === n, progress.children.length + 1);
  const grid = progress.children.find((c) => c.node_id === h.DEMO.grid);
  const row = page.locator('[data-test=progress-table] .el-table__body tr', { hasText: grid.name }).first();
  assert.match(await row.innerText(), new RegExp(`${grid.name}\\s+${grid.residents}\\s+${grid.sampled}\\s+${grid.not_sampled}`));
  assert.ok(grid.residents >= 26);
  const points = (await call('GET', '/api/v1/nat-rounds/1/points', undefined, community)).items;
  const slot = points[0].slots[0];
  assert.ok((await page.locator('[data-test=points]').innerText()).includes(shown(slot.from_at)), 'the slot in Beijing time');
  await h.shot(page, 'control-nat');
  assert.deepEqual(errors, []);
});

'use strict';
// Tracing from the desktop: a venue and its printable poster (its QR code
// opens the door page at public_url), a case whose
// onset is typed in Beijing time (the browser here runs in Berlin), trace
// with evidence and a timeline, apply, the not-located queue, and the
// handed-over list with its XLSX export.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const h = require('./harness');

let srv, browser, ctx, page, errors, command, checkpoint, venue, caseId;
const people = {};
const now = Math.floor(Date.now() / 1000);
const PHONE_ONLY = '13800000009';
const PUBLIC_URL = 'https://wg.example.gov.cn';

// Wall time of a Unix second in Beijing, as a person types it.
function beijing(sec) {
  const d = new Date((sec + 8 * 3600) * 1000);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

before(async () => {
  srv = await h.startServer({ public_url: PUBLIC_URL });
  [command, checkpoint] = await Promise.all([srv.login('command'), srv.login('checkpoint')]);
  for (const name of ['病例甲', '同店乙']) {
    const r = await srv.api('POST', '/api/v1/persons', { token: command, body: { grid_id: h.DEMO.grid, name } });
    assert.equal(r.status, 201, r.text);
    people[name] = r.json.id;
  }
  browser = await h.launch();
  ctx = await h.context(browser, { timezoneId: 'Europe/Berlin' });
  await h.signInApi(ctx, srv.base, 'command');
  page = await ctx.newPage();
  errors = h.watchErrors(page);
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

test('a venue is created and its poster prints without the page around it', async () => {
  await page.goto(`${srv.base}/tracing/venues`);
  await page.click('[data-test=venue-add]');
  await page.click('[data-test=vf-save]');
  const nameItem = page.locator('.el-form-item', { has: page.locator('#vf-name') });
  await h.pickOption(page, '#vf-grid', '第1网格', { type: '第1网格' });
  await page.fill('#vf-name', '兴阜超市');
  await h.pickOption(page, '#vf-kind', '商超');
  await page.click('[data-test=vf-save]');
  await page.locator('[data-test=venue-table] .el-table__body tr', { hasText: '兴阜超市' }).waitFor();
  assert.equal(await nameItem.count(), 0, 'the dialog closed');
  venue = (await srv.api('GET', '/api/v1/venues?q=兴阜超市', { token: command })).json.items[0];
  assert.equal(venue.kind, 'market');
  assert.equal(venue.grid_id, h.DEMO.grid);

  await page.click(`[data-test=poster-${venue.id}]`);
  await page.locator('[data-test=poster-name]').waitFor();
  assert.equal(await page.locator('[data-test=poster-name]').innerText(), '兴阜超市');
  await page.waitForFunction(() => document.querySelector('[data-test=poster-qr]')?.naturalWidth > 0);
  // What a resident's phone camera reads from the poster: the door page at the public address.
  await h.shot(page, 'venue-poster');
  assert.equal(await page.locator('[data-test=poster-qr]').getAttribute('data-content'), 'url');
  assert.equal(h.decodeQr(await page.locator('[data-test=poster-qr]').screenshot()), `${PUBLIC_URL}/v/${venue.code}`);
  assert.match(await page.locator('[data-test=poster-hint]').innerText(), /手机相机或微信扫码/);
  assert.equal(await page.locator('[data-test=poster-notice]').count(), 0);
  await page.emulateMedia({ media: 'print' });
  assert.equal(await page.locator('.wg-top').isVisible(), false, 'no top bar on paper');
  assert.equal(await page.locator('nav.wg-side').isVisible(), false, 'no menu on paper');
  assert.equal(await page.locator('[data-test=poster-qr]').isVisible(), true);
  await page.emulateMedia({ media: 'screen' });
});

test('a case: onset typed in Beijing time is sent as Unix seconds', async () => {
  const scans = [
    { person_id: people['病例甲'], t_in: now - 7200, t_out: now - 5400 },
    { person_id: people['同店乙'], t_in: now - 6600, t_out: now - 4800 },
    { phone: PHONE_ONLY, t_in: now - 6000, t_out: now - 5000 },
  ];
  for (const s of scans) {
    const r = await srv.api('POST', '/api/v1/scans', { token: checkpoint, body: { venue_code: venue.code, ...s } });
    assert.equal(r.status, 201, r.text);
  }
  const onsetText = beijing(now - 600);
  await page.goto(`${srv.base}/tracing/cases`);
  await page.click('[data-test=case-add]');
  await h.pickOption(page, '#cf-person', '病例甲', { type: '病例' });
  await page.fill('#cf-onset', onsetText);
  await page.keyboard.press('Enter');
  await page.fill('#cf-note', '核酸阳性');
  await page.click('[data-test=cf-save]');
  await page.waitForURL(/\/tracing\/cases\/\d+$/);
  caseId = Number(page.url().split('/').pop());
  const c = (await srv.api('GET', `/api/v1/cases/${caseId}`, { token: command })).json;
  const expected = Math.floor((now - 600) / 60) * 60;
  assert.equal(c.onset_at, expected, `${onsetText} in Beijing is ${expected}, whatever the browser's zone`);
  assert.equal(c.person_id, people['病例甲']);
  assert.equal(await page.locator('[data-test=case-onset]').innerText(), onsetText);
});

test('the list of cases names each case person, masked, without reading the persons', async () => {
  const reads = [];
  const onRequest = (r) => { if (/\/api\/v1\/persons\//.test(r.url())) reads.push(r.url()); };
  page.on('request', onRequest);
  await page.goto(`${srv.base}/tracing/cases`);
  const row = page.locator('[data-test=case-table] .el-table__body tr', { hasText: `#${people['病例甲']}` });
  await row.waitFor();
  assert.match(await row.innerText(), /病\*\* #\d+/);
  const api = (await srv.api('GET', `/api/v1/cases/${caseId}`, { token: command })).json;
  assert.equal(api.person_name, '病**');
  page.off('request', onRequest);
  assert.deepEqual(reads, [], 'no person read (and audited) for the list');
  await page.click(`[data-test=case-open-${caseId}]`);
  await page.waitForURL(new RegExp(`/tracing/cases/${caseId}$`));
  await page.locator('[data-test=trace]').waitFor();
});

test('trace lists contacts with their evidence and a timeline; apply hands them over', async () => {
  await page.click('[data-test=trace]');
  await page.locator('[data-test=trace-result]').waitFor();
  assert.match(await page.locator('[data-test=trace-result]').innerText(), /密接 2 人.*已定位 1 人.*未定位 1 人/);
  const row = page.locator('[data-test=contact-table] .el-table__body tr', { hasText: '同*' });
  await row.waitFor();
  const text = await row.innerText();
  assert.match(text, /兴阜超市/);
  assert.ok(text.includes(beijing(now - 6600)), `the contact's stay in Beijing time: ${text}`);
  assert.match(text, /\d+ 分钟/);
  assert.ok(await page.locator('.wg-tl-row').count() >= 2, 'a timeline of the shared stays');
  await h.shot(page, 'case-contacts');

  await page.click('[data-test=apply]');
  await page.locator('.el-message-box .el-button--primary').click();
  await page.locator('[data-test=apply-result]').waitFor();
  assert.match(await page.locator('[data-test=apply-result]').innerText(), /1/);
  assert.equal((await srv.api('GET', `/api/v1/cases/${caseId}`, { token: command })).json.status, 'applied');
  assert.match(await page.locator('[data-test=case-status]').innerText(), /已下发/);
});

test('the not-located queue: a phone-only contact placed in a community', async () => {
  await page.goto(`${srv.base}/tracing/unlocated`);
  const row = page.locator('[data-test=unlocated-table] .el-table__body tr', { hasText: '138****0009' });
  await row.waitFor();
  const id = Number((await row.locator('td').first().innerText()).trim());
  await page.click(`[data-test=resolve-${id}]`);
  await page.click('[data-test=res-community] input', { force: true });
  await h.pickOption(page, '#r-node', '#3', { type: '兴阜' });
  await page.fill('#r-note', '住兴阜路8号,待登记');
  await page.click('[data-test=res-save]');
  await page.locator('.el-dialog').waitFor({ state: 'detached' });
  const all = (await srv.api('GET', '/api/v1/contacts/unlocated?status=all', { token: command })).json.items;
  const entry = all.find((x) => x.id === id);
  assert.equal(entry.status, 'community');
  assert.equal(entry.node_id, h.DEMO.community);
  assert.equal(entry.note, '住兴阜路8号,待登记');
});

test("the community's handed-over list, exported as XLSX", async () => {
  await page.goto(`${srv.base}/tracing/contacts`);
  await page.locator('[data-test=contacts-table] .el-table__body tr', { hasText: '兴阜超市' }).first().waitFor();
  const rows = await page.locator('[data-test=contacts-table] .el-table__body tr').count();
  const api = (await srv.api('GET', '/api/v1/contacts', { token: command })).json.items;
  assert.equal(rows, api.length);
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-test=contacts-export]')]);
  const buf = fs.readFileSync(await download.path());
  assert.equal(buf.subarray(0, 2).toString(), 'PK', 'an XLSX workbook');

  // Narrowed to a place: the server lists that subtree (?grid=), with its total; the export follows.
  const kids = (await srv.api('GET', `/api/v1/grids/${h.DEMO.community}/children`, { token: command })).json.items;
  const other = kids.find((k) => k.id !== h.DEMO.grid);
  for (const node of [other, { id: h.DEMO.grid, name: '第1网格' }]) {
    const want = (await srv.api('GET', `/api/v1/contacts?grid=${node.id}`, { token: command })).json;
    await h.pickOption(page, '#k-grid', `#${node.id}`, { type: node.name });
    const [res] = await Promise.all([
      page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/contacts' && new URL(r.url()).searchParams.get('grid') === String(node.id)),
      page.click('[data-test=contacts-search]'),
    ]);
    assert.equal(res.status(), 200);
    await page.waitForFunction((n) => document.querySelector('[data-test=contacts-total]')?.innerText === `共 ${n} 条`
      && !document.querySelector('[data-test=contacts-table] .el-loading-mask'), want.total);
    const shown = await page.locator('[data-test=contacts-table] .el-table__body tr').count();
    assert.equal(shown, want.items.length, node.name);
    assert.match(await page.getAttribute('[data-test=contacts-export]', 'href'), new RegExp(`[?&]grid=${node.id}\\b`));
  }
  assert.ok((await srv.api('GET', `/api/v1/contacts?grid=${h.DEMO.grid}`, { token: command })).json.total >= 1, 'the grid has the contact');
  assert.deepEqual(errors, []);
});

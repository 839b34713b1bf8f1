'use strict';
// The control lists' configuration on the desktop: a protocol preset read in
// the office's words and edited into a new version (a wrong NAT day and a
// wrong symptom code named at their fields, the old version kept, a record
// opened before keeping it); a new preset copied from another; a
// team shape edited the same way; the county's control settings with a
// wrong value named at its field; a household's consent, a door sensor
// registered with its key shown once (and the key signing a real event), a
// serial used twice named, and the device retired after a confirmation. The
// browser runs in Berlin: every time typed or shown is Beijing time.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./harness');

let srv, browser, ctx, page, errors, command, community;

async function call(method, path, body, token = command) {
  const r = await srv.api(method, path, { token, body });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.text}`);
  return r.json;
}
/** The error Element Plus shows under the form item holding sel. */
const fieldError = (p, sel) => p.locator('.el-form-item', { has: p.locator(sel) }).last().locator('.el-form-item__error');
/** Types into an input, whether sel is the input or wraps it (input-number). */
async function typeIn(p, sel, value) {
  const input = p.locator(`input${sel}, ${sel} input`).first();
  await input.fill(String(value));
  await input.blur();
}

/** The NAT days of a preset category as the whole record counts them (phase days added up). */
function chainNat(rule) {
  let offset = 0;
  const out = [];
  for (const ph of rule.phases) {
    out.push(...ph.nat_days.map((d) => d + offset));
    offset += ph.days;
  }
  return { nat: out, total: offset };
}

before(async () => {
  srv = await h.startServer();
  [command, community] = await Promise.all([srv.login('command'), srv.login('community')]);
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

test("a preset in the office's words; an edit adds version 2, a wrong NAT day named at its field; records keep their version", async () => {
  const v9 = (await call('GET', '/api/v1/presets?limit=100')).items.find((p) => p.code === 'v9');
  // A record opened under version 1.
  const person = await call('POST', '/api/v1/persons', { grid_id: h.DEMO.grid, name: '方案甲', id_number: h.idNumber('1980-02-03', 301) });
  const before = await call('POST', '/api/v1/controls', { person_id: person.id, category: 'close', preset: 'v9' });
  assert.equal(before.preset_version, 1);

  await page.goto(`${srv.base}/controls/presets`);
  await page.locator('[data-test=preset-version-v9]').waitFor();
  assert.equal(await page.locator('[data-test=preset-version-v9]').innerText(), '第 1 版');
  const row = page.locator('[data-test=presets-table] .el-table__body tr', { has: page.locator('[data-test=preset-open-v9]') });
  assert.match(await row.innerText(), new RegExp(`密接 ${chainNat(v9.rules.categories.close).total} 天`));
  await h.shot(page, 'control-presets');

  await page.click('[data-test=preset-open-v9]');
  await page.locator('[data-test=rule-phases-close]').waitFor();
  const close = chainNat(v9.rules.categories.close);
  assert.equal(await page.locator('[data-test=rule-phases-close]').innerText(), `集中隔离 7 天,再居家健康监测 3 天,共 ${close.total} 天`);
  assert.equal(await page.locator('[data-test=rule-nat-close]').innerText(), `第 ${close.nat.join('、')} 天`);
  assert.equal(await page.locator('[data-test=rule-release-close]').innerText(), `期满且第 ${close.nat.join('、')} 天的核酸为阴性`);
  assert.equal(await page.locator('[data-test=rule-phases-pushed]').count(), 0);
  assert.match(await page.locator('[data-test=rules-categories]').innerText(), /指挥部推送\s+方案未规定/);
  assert.match(await page.locator('[data-test=rules-general]').innerText(), /发病前 2 天[\s\S]*自末次接触之日[\s\S]*五包一[\s\S]*每天测 2 次,体温 ≥ 37\.3 °C 为发热/);

  // The edit: a NAT day outside its phase first, named at that field; nothing saved.
  await page.click('[data-test=cfg-edit]');
  await typeIn(page, '[data-test=edit-days-close-0]', 5);
  await typeIn(page, '[data-test=edit-nat-close-0]', '1, 2, 3, 7');
  await page.click('[data-test=cfg-save]');
  const natError = fieldError(page, '[data-test=edit-nat-close-0]');
  await natError.waitFor();
  assert.match(await natError.innerText(), /应为 1 到 5 之间、由小到大不重复的天数/);
  await natError.scrollIntoViewIfNeeded();
  await h.shot(page, 'control-preset-edit');
  assert.equal(await page.locator('.el-form-item__error').count(), 1, 'only that field');
  assert.equal((await call('GET', `/api/v1/presets/${v9.id}`)).active_version, 1, 'nothing saved');

  await typeIn(page, '[data-test=edit-nat-close-0]', '1、3、5');
  await typeIn(page, '[data-test=edit-release-close]', '1, 3, 5, 8');
  // A symptom added: a code the API refuses is named on its row.
  await page.click('[data-test=edit-sym-add]');
  const k = v9.rules.symptoms.length;
  await page.fill(`[data-test=edit-sym-zh-${k}]`, '结膜炎');
  await page.fill(`[data-test=edit-sym-code-${k}]`, 'Eye!');
  await page.click('[data-test=cfg-save]');
  const symError = fieldError(page, `[data-test=edit-sym-zh-${k}]`);
  await symError.waitFor();
  assert.match(await symError.innerText(), /code 只能含小写字母、数字和下划线/);
  await page.fill(`[data-test=edit-sym-code-${k}]`, 'conjunctivitis');
  await page.fill('[data-test=edit-note] textarea, textarea[data-test=edit-note]', '密接集中隔离改为 5 天');
  await page.click('[data-test=cfg-save]');
  await page.waitForFunction(() => document.querySelector('[data-test=cfg-version]')?.innerText === '第 2 版');
  const now = await call('GET', `/api/v1/presets/${v9.id}`);
  assert.equal(now.active_version, 2);
  assert.deepEqual(now.rules.categories.close.phases[0], { mode: 'central', days: 5, nat_days: [1, 3, 5] });
  assert.deepEqual(now.rules.categories.close.phases[1], v9.rules.categories.close.phases[1], 'the phase not edited is kept');
  assert.deepEqual(now.rules.categories.close.release_nat_days, [1, 3, 5, 8]);
  assert.deepEqual(now.rules.symptoms, [...v9.rules.symptoms, { code: 'conjunctivitis', zh: '结膜炎' }]);
  assert.equal(now.rules.issued, v9.rules.issued, 'what was not changed is kept');
  assert.deepEqual(now.rules.categories.secondary, v9.rules.categories.secondary);
  assert.equal(await page.locator('[data-test=rule-phases-close]').innerText(), '集中隔离 5 天,再居家健康监测 3 天,共 8 天');
  assert.equal(await page.locator('[data-test=rule-release-close]').innerText(), '期满且第 1、3、5、8 天的核酸为阴性');

  // The history: both versions, the new one active with its note; the old one's rules still readable.
  const versions = await call('GET', `/api/v1/presets/${v9.id}/versions`);
  assert.deepEqual(versions.items.map((v) => v.number), [2, 1]);
  const vrows = page.locator('[data-test=versions-table] .el-table__body > tbody > tr.el-table__row');
  await page.waitForFunction(() => document.querySelectorAll('[data-test=versions-table] tr.el-table__row').length === 2);
  assert.match(await vrows.nth(0).innerText(), /第 2 版\s+当前[\s\S]*密接集中隔离改为 5 天/);
  assert.ok((await vrows.nth(0).innerText()).includes(versions.items[0].created_at_text.slice(0, 16).replace('T', ' ')), 'when, in Beijing time');
  await page.locator('[data-test=version-rules-1]').focus();
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /集中隔离 7 天,再居家健康监测 3 天,共 10 天/.test(document.querySelector('[data-test=versions-table]')?.innerText || ''));

  // A record opened before keeps version 1; a new one takes version 2.
  assert.equal((await call('GET', `/api/v1/controls/${before.id}`)).preset_version, 1);
  assert.equal((await call('GET', `/api/v1/controls/${before.id}`)).end_date, before.end_date);
  const p2 = await call('POST', '/api/v1/persons', { grid_id: h.DEMO.grid, name: '方案乙', id_number: h.idNumber('1981-03-04', 302) });
  const after = await call('POST', '/api/v1/controls', { person_id: p2.id, category: 'close', preset: 'v9' });
  assert.equal(after.preset_version, 2);
  assert.deepEqual(after.nat_days.map((d) => d.day_no), [1, 3, 5, 8]);
  await page.evaluate(() => window.scrollTo(0, 0));
  await h.shot(page, 'control-preset');
  assert.deepEqual(errors, []);
});

test('a team shape: a role listed twice named on its row; the fixed shape saved as version 2', async () => {
  const shape = (await call('GET', '/api/v1/team-shapes')).items.find((s) => s.code === 'three_one');
  await page.goto(`${srv.base}/controls/presets?tab=shapes`);
  await page.click('[data-test=shape-open-three_one]');
  await page.locator('[data-test=rules-members]').waitFor();
  assert.match(await page.locator('[data-test=rules-members]').innerText(), /社区干部\s+community_cadre\s+由所在网格的“二级网格长”自动担任/);
  await page.click('[data-test=cfg-edit]');
  await page.click('[data-test=edit-member-add]');
  const n = shape.rules.members.length;
  await page.fill(`[data-test=edit-role-${n}]`, 'police');
  await page.fill(`[data-test=edit-zh-${n}]`, '医护人员');
  await page.click('[data-test=cfg-save]');
  const err = fieldError(page, `[data-test=edit-role-${n}]`);
  await err.waitFor();
  assert.match(await err.innerText(), /role 重复/);
  assert.equal((await call('GET', `/api/v1/team-shapes/${shape.id}`)).active_version, 1);
  await page.fill(`[data-test=edit-role-${n}]`, 'medic');
  await page.click('[data-test=cfg-save]');
  await page.waitForFunction(() => document.querySelector('[data-test=cfg-version]')?.innerText === '第 2 版');
  const now = await call('GET', `/api/v1/team-shapes/${shape.id}`);
  assert.deepEqual(now.rules.members, [...shape.rules.members, { role: 'medic', zh: '医护人员' }]);
  assert.match(await page.locator('[data-test=rules-members]').innerText(), /医护人员\s+medic\s+手工填写/);
  assert.deepEqual(errors, []);
});

test("a new preset copied from another: a code the API refuses named at the code; version 1 holds the copy's rules", async () => {
  const twenty = (await call('GET', '/api/v1/presets?limit=100')).items.find((p) => p.code === 'twenty');
  await page.goto(`${srv.base}/controls/presets`);
  await page.click('[data-test=cfg-new]');
  await h.pickOption(page, '#pn-base', '二十条');
  await page.fill('[data-test=new-code]', 'v9');
  await page.fill('[data-test=new-name]', '本县做法');
  await page.click('[data-test=new-save]');
  const codeError = page.locator('[data-test=new-code-item] .el-form-item__error');
  await codeError.waitFor();
  assert.match(await codeError.innerText(), /v9/, 'a code in use is named');
  await page.fill('[data-test=new-code]', 'county_local');
  await page.click('[data-test=new-save]');
  await page.waitForURL((u) => /\/controls\/presets\/\d+$/.test(u.pathname));
  await page.waitForFunction(() => document.querySelector('[data-test=cfg-name]')?.innerText === '本县做法');
  const made = (await call('GET', '/api/v1/presets?limit=100')).items.find((p) => p.code === 'county_local');
  assert.equal(made.active_version, 1);
  assert.deepEqual(made.rules, twenty.rules);
  assert.equal(await page.locator('[data-test=cfg-version]').innerText(), '第 1 版');
  assert.equal(await page.locator('[data-test=rule-phases-close]').innerText(), '集中隔离 5 天,再居家隔离 3 天,共 8 天');
  assert.deepEqual(errors, []);
});

test('control settings: read-only for the community; a wrong value named at its field; the right ones saved', async () => {
  const comm = await browser.newContext({ viewport: h.DESKTOP, timezoneId: 'Europe/Berlin', locale: 'zh-CN' });
  await h.signInApi(comm, srv.base, 'community');
  const cp = await comm.newPage();
  await cp.goto(`${srv.base}/controls/settings`);
  await cp.locator('#cs-escalate').waitFor();
  assert.equal(await cp.locator('[data-test=set-save]').count(), 0, 'no save for a role without CONTROL_CONFIG');
  assert.equal(await cp.locator('#cs-escalate').isDisabled(), true);
  await comm.close();

  await page.goto(`${srv.base}/controls/settings`);
  await page.locator('#cs-escalate').waitFor();
  assert.equal(await page.inputValue('#cs-escalate'), '30', '1800 seconds shown as 30 minutes');
  assert.equal(await page.locator('[data-test=set-escalate-text]').innerText(), '30 分钟');
  await typeIn(page, '#cs-escalate', 0);
  await page.click('[data-test=set-save]');
  const err = page.locator('[data-test=set-alert_escalate_seconds] .el-form-item__error');
  await err.waitFor();
  assert.match(await err.innerText(), /alert_escalate_seconds 应为 1 到 604800 之间的整数/);
  assert.equal(await page.locator('.el-form-item__error').count(), 1);
  assert.equal((await call('GET', '/api/v1/control/settings')).alert_escalate_seconds, 1800, 'nothing changed');
  await h.shot(page, 'control-settings');

  await typeIn(page, '#cs-escalate', 90);
  await typeIn(page, '#cs-skew', 600);
  await h.pickOption(page, '#cs-preset', '二十条');
  assert.equal(await page.locator('[data-test=set-escalate-text]').innerText(), '1 小时 30 分钟');
  await page.click('[data-test=set-save]');
  await page.locator('.el-message--success', { hasText: '已保存' }).waitFor();
  assert.deepEqual(await call('GET', '/api/v1/control/settings'), { default_preset: 'twenty', alert_escalate_seconds: 5400, device_clock_skew_seconds: 600 });
  await page.locator('.el-form-item__error').waitFor({ state: 'detached' });
  assert.equal(await page.locator('[data-test=set-save]').isDisabled(), true, 'nothing left to save');
  assert.deepEqual(errors, []);
});

test("door sensors: consent first (its time typed in Beijing time), a device's key shown once and working, a serial used twice named, retired after a confirmation", async () => {
  const hh = await call('POST', '/api/v1/households', { grid_id: h.DEMO.grid, address: '兴阜小区7号楼2单元402室' }, community);
  await call('POST', '/api/v1/persons', { grid_id: h.DEMO.grid, household_id: hh.id, name: '门磁甲', id_number: h.idNumber('1975-06-07', 303) }, community);
  const comm = await browser.newContext({ viewport: h.DESKTOP, timezoneId: 'Europe/Berlin', locale: 'zh-CN' });
  await h.signInApi(comm, srv.base, 'community');
  const p = await comm.newPage();
  const errs = h.watchErrors(p);
  await p.goto(`${srv.base}/controls/devices`);
  await p.locator('[data-test=households-total]').waitFor();

  // A device before consent: refused, named at the household.
  await p.click('[data-test=device-add]');
  await h.pickOption(p, '#dd-household', '7号楼2单元402室', { type: '兴阜小区7号' });
  await p.fill('[data-test=dd-serial]', 'MC-20261206-0001');
  await p.click('[data-test=dd-save]');
  const noConsent = p.locator('[data-test=dd-household-item] .el-form-item__error');
  await noConsent.waitFor();
  assert.match(await noConsent.innerText(), /尚未登记知情同意/);
  assert.equal((await call('GET', '/api/v1/devices', undefined, community)).total, 0);
  await p.keyboard.press('Escape');
  await p.locator('.el-dialog').waitFor({ state: 'detached' });

  // The consent, at a time typed in Beijing time.
  await p.click('[data-test=consent-add]');
  await h.pickOption(p, '#dc-household', '7号楼2单元402室', { type: '兴阜小区7号' });
  await p.fill('[data-test=dc-signer]', '门磁甲');
  await p.locator('.el-radio', { hasText: '书面' }).click();
  const yesterday = new Date(Date.now() + 8 * 3600e3 - 86400e3).toISOString().slice(0, 10);
  await p.fill('#dc-at', `${yesterday} 09:30`);
  await p.keyboard.press('Enter');
  await p.click('[data-test=dc-save]');
  await p.locator(`[data-test=consent-${hh.id}]`).waitFor();
  const consent = (await call('GET', '/api/v1/devices/consents', undefined, community)).items.find((c) => c.household_id === hh.id);
  assert.equal(consent.signer, '门磁甲');
  assert.equal(consent.method, 'paper');
  assert.equal(consent.consented_at_text.slice(0, 16), `${yesterday}T09:30`, 'the time typed is Beijing time');
  assert.match(await p.locator(`[data-test=consent-${hh.id}]`).innerText(), new RegExp(`门磁甲 · 书面 · ${yesterday} 09:30`));

  // The device: its key shown once, with the warning; the dialog stays until the key is said to be kept.
  await p.click(`[data-test=hh-device-${hh.id}]`);
  await p.fill('[data-test=dd-serial]', 'MC-20261206-0001');
  await p.click('[data-test=dd-save]');
  await p.locator('[data-test=device-key]').waitFor();
  const key = await p.locator('[data-test=device-key]').innerText();
  assert.match(key, /^[0-9a-f]{64}$/);
  assert.match(await p.locator('[data-test=key-dialog]').innerText(), /密钥只显示这一次/);
  await h.shot(p, 'control-device-key');
  assert.equal(await p.locator('[data-test=key-close]').isDisabled(), true);
  await p.keyboard.press('Escape');
  assert.equal(await p.locator('[data-test=device-key]').isVisible(), true, 'Escape does not lose the key');
  await p.click('[data-test=key-kept]');
  await p.click('[data-test=key-close]');
  await p.locator('[data-test=key-dialog]').waitFor({ state: 'detached' });
  const devices = await call('GET', `/api/v1/devices?household_id=${hh.id}`, undefined, community);
  assert.equal(devices.total, 1);
  assert.equal(devices.items[0].key, undefined, 'never listed again');
  const dev = devices.items[0];
  assert.equal(await p.locator(`[data-test=dev-last-${dev.id}]`).innerText(), '还没有事件');

  // The key shown is the device's: an event signed with it is taken.
  const send = (body) => srv.api('POST', '/api/v1/devices/events', {
    raw: body, headers: { 'content-type': 'application/json', 'x-wg-signature': `sha256=${crypto.createHmac('sha256', Buffer.from(key, 'hex')).update(body).digest('hex')}` },
  });
  const at = Math.floor(Date.now() / 1000);
  const ev = await send(JSON.stringify({ device: 'MC-20261206-0001', event_id: 'e-1', type: 'door_close', at }));
  assert.equal(ev.status, 201, ev.text);
  await p.reload();
  const last = (await call('GET', `/api/v1/devices?household_id=${hh.id}`, undefined, community)).items[0].last_event_at_text;
  await p.waitForFunction(([id, want]) => document.querySelector(`[data-test=dev-last-${id}]`)?.innerText === want, [dev.id, `${last.slice(0, 10)} ${last.slice(11, 16)}`]);

  // The same serial again: named at the serial.
  await p.click(`[data-test=hh-device-${hh.id}]`);
  await p.fill('[data-test=dd-serial]', 'MC-20261206-0001');
  await p.click('[data-test=dd-save]');
  const dup = p.locator('[data-test=dd-serial-item] .el-form-item__error');
  await dup.waitFor();
  assert.match(await dup.innerText(), /MC-20261206-0001/);
  await p.keyboard.press('Escape');
  await p.locator('.el-dialog').waitFor({ state: 'detached' });
  await h.shot(p, 'control-devices');

  // What the device sent, in words and local time.
  await p.click(`[data-test=dev-events-${dev.id}]`);
  await p.locator('[data-test=event-type-e-1]').waitFor();
  assert.equal(await p.locator('[data-test=event-type-e-1]').innerText(), '关门');
  assert.match(await p.locator('[data-test=events-total]').innerText(), /共 1 个事件/);
  await h.shot(p, 'control-device-events');
  await p.keyboard.press('Escape');
  await p.locator('.el-dialog').waitFor({ state: 'detached' });

  // Retired only after a confirmation; cancelled first.
  await p.click(`[data-test=dev-retire-${dev.id}]`);
  await p.locator('.el-message-box').waitFor();
  await p.locator('.el-message-box button', { hasText: '取消' }).click();
  assert.equal((await call('GET', `/api/v1/devices?household_id=${hh.id}`, undefined, community)).items[0].status, 'active');
  await p.click(`[data-test=dev-retire-${dev.id}]`);
  await p.locator('.el-message-box button', { hasText: '停用' }).click();
  await p.locator(`[data-test=dev-retire-${dev.id}]`).waitFor({ state: 'detached' });
  assert.equal((await call('GET', `/api/v1/devices?household_id=${hh.id}`, undefined, community)).items[0].status, 'retired');
  const refused = await send(JSON.stringify({ device: 'MC-20261206-0001', event_id: 'e-2', type: 'door_open', at: Math.floor(Date.now() / 1000) }));
  assert.equal(refused.status, 403, 'a retired device is refused');

  // The household takes its consent back: a reason is needed; then it may consent again.
  await p.click(`[data-test=hh-withdraw-${hh.id}]`);
  await p.locator('.el-message-box').waitFor();
  await p.locator('.el-message-box button', { hasText: '撤回同意' }).click();
  await p.locator('.el-message-box__errormsg', { hasText: '请填写撤回的原因' }).waitFor();
  await p.fill('.el-message-box input', '住户要求撤回');
  await p.locator('.el-message-box button', { hasText: '撤回同意' }).click();
  await p.locator(`[data-test=consent-withdrawn-${hh.id}]`).waitFor();
  const after = (await call('GET', '/api/v1/devices/consents', undefined, community)).items.find((c) => c.household_id === hh.id);
  assert.deepEqual([after.status, after.withdrawn_reason], ['withdrawn', '住户要求撤回']);
  assert.equal(await p.locator(`[data-test=hh-consent-${hh.id}]`).innerText(), '重新登记同意');
  assert.deepEqual(errs, []);
  await comm.close();
});

test('in English: the new pages have their words (no message key shows through)', async () => {
  const en = await browser.newContext({ viewport: h.DESKTOP, timezoneId: 'Europe/Berlin', locale: 'en-US' });
  await en.addInitScript(() => localStorage.setItem('wg.lang', 'en'));
  await h.signInApi(en, srv.base, 'command');
  const p = await en.newPage();
  const errs = h.watchErrors(p);
  const v9 = (await call('GET', '/api/v1/presets?limit=100')).items.find((x) => x.code === 'v9');
  const pages = [
    ['/controls/presets', 'Protocol presets and team shapes'], [`/controls/presets/${v9.id}`, 'Days count from'],
    ['/controls/settings', 'Alert escalation after'], ['/controls/devices', 'Door sensors and consent'],
  ];
  for (const [url, words] of pages) {
    await p.goto(srv.base + url);
    await p.waitForFunction((w) => document.querySelector('main')?.innerText.includes(w), words);
    const text = await p.locator('main').innerText();
    assert.doesNotMatch(text, /\b(presets|devices|controlSettings|ctlOpen|ctlImport)\.[a-zA-Z]/, `${url}: ${text.slice(0, 300)}`);
  }
  await p.goto(`${srv.base}/controls`);
  await p.click('[data-test=ctl-open]');
  await p.locator('.el-dialog', { hasText: 'Open a control record' }).waitFor();
  assert.doesNotMatch(await p.locator('.el-dialog').innerText(), /ctlOpen\./);
  assert.deepEqual(errs, []);
  await en.close();
});

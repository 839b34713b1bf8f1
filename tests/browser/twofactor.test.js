'use strict';
// Two-factor sign-in (双因素登录) in the browser, on a server that requires it
// of the command center (totp_required = 1): signing in leads to the set-up
// page and nowhere else; its QR code is one a phone reads (decoded here);
// the code the app would show (RFC 6238, computed from the secret) confirms
// it; the recovery codes are shown once; then signing in asks for the code.
// New recovery codes, and a user who chose it turns it off again.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./harness');

let srv, browser;

before(async () => {
  srv = await h.startServer({ totp_required: 1 });
  browser = await h.launch();
});
after(async () => {
  if (browser) await browser.close();
  if (srv) await srv.stop();
});

/** RFC 6238 (HMAC-SHA1, 6 digits, 30 s) of a base32 secret, steps from now: what the phone app shows. */
function totp(secret, steps = 0) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/[\s=]/g, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + steps));
  const mac = crypto.createHmac('sha1', key).update(counter).digest();
  const o = mac[mac.length - 1] & 15;
  return String((mac.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

/** Goes through the set-up page: password, QR (read back as a phone camera would), a code; returns the secret and the codes. */
async function setUp(page, username, password) {
  await page.fill('#tp-password', password);
  await page.click('[data-test=tp-begin]');
  const qr = page.locator('[data-test=totp-qr]');
  await qr.waitFor();
  const secret = (await page.locator('[data-test=totp-secret]').innerText()).replace(/\s+/g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/);
  const uri = h.decodeQr(await qr.screenshot());
  assert.match(uri, new RegExp(`^otpauth://totp/wangge:${username}\\?secret=${secret}&issuer=wangge`), uri);
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'tp-code', 'the code box has the focus');
  return secret;
}

async function readCodes(page) {
  const list = page.locator('[data-test=totp-code-list] li');
  await list.first().waitFor();
  const codes = (await list.allInnerTexts()).map((c) => c.trim());
  assert.equal(codes.length, 10);
  for (const c of codes) assert.match(c, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
  return codes;
}

let secret, codes;

test('a role that must use two factors is led to set them up on sign-in, and signs in with the code afterwards', async () => {
  const ctx = await h.context(browser);
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  await h.signInUi(page, srv.base, 'command');
  await page.waitForURL(/\/account\/totp$/);
  await page.locator('[data-test=totp-must]').waitFor();
  assert.match(await page.locator('[data-test=totp-must]').innerText(), /必须使用双因素登录/);
  const menu = await page.locator('nav.wg-side').innerText();
  assert.equal(menu.trim(), '双因素登录', `nothing else in the menu: ${menu}`);
  assert.equal(await page.locator('[data-test=scope]').count(), 0, 'no scope shown before the set-up is done');
  // Nowhere else until it is done.
  await page.goto(`${srv.base}/grid`);
  await page.waitForURL(/\/account\/totp$/);

  // The password again: a wrong one is refused under its field.
  await page.fill('#tp-password', 'Not-the-password-1');
  await page.click('[data-test=tp-begin]');
  const pwItem = page.locator('.el-form-item', { has: page.locator('#tp-password') });
  await pwItem.locator('.el-form-item__error').waitFor();
  secret = await setUp(page, 'command', h.DEMO_PASSWORD);
  await h.shot(page, 'totp-setup');

  // A wrong code is refused under its field; the app's code puts it in force.
  await page.fill('#tp-code', totp(secret, 10));
  await page.click('[data-test=tp-confirm]');
  const codeItem = page.locator('.el-form-item', { has: page.locator('#tp-code') });
  await codeItem.locator('.el-form-item__error').waitFor();
  await page.fill('#tp-code', totp(secret));
  await page.click('[data-test=tp-confirm]');
  codes = await readCodes(page);
  // Shown once: "continue" waits until the person says they are kept.
  assert.equal(await page.locator('[data-test=totp-finish]').isDisabled(), true);
  await page.mouse.move(0, 0);
  await h.shot(page, 'totp-codes');
  await page.click('[data-test=totp-saved]');
  await page.click('[data-test=totp-finish]');
  await page.waitForURL((u) => !/\/account\/totp/.test(u.pathname) && !/\/login/.test(u.pathname));
  await page.locator('nav.wg-side', { hasText: '网格与人口' }).waitFor();
  await page.click('[data-test=account-link]');
  await page.locator('[data-test=account-totp-state]', { hasText: '已启用' }).waitFor();
  assert.match(await page.locator('[data-test=account-totp]').innerText(), /剩余恢复码 10 个/);

  // Sign out; signing in asks for the code once the password was right.
  await page.click('[data-test=signout]');
  await page.waitForURL(/\/login/);
  await h.signInUi(page, srv.base, 'command');
  await page.locator('#wg-totp').waitFor();
  assert.match(await page.locator('[data-test=login-totp-notice]').innerText(), /动态验证码/);
  assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'wg-totp');
  await h.shot(page, 'login-totp');
  // A wrong code: refused, still on the sign-in page, the code box emptied.
  await page.fill('#wg-totp', totp(secret, 12));
  await page.click('[data-test=login-submit]');
  await page.locator('[data-test=login-error]', { hasText: '动态验证码错误' }).waitFor();
  assert.equal(await page.inputValue('#wg-totp'), '');
  // The app's next code (the one of now was used to confirm), typed with a space as the app shows it.
  const next = totp(secret, 1);
  await page.fill('#wg-totp', `${next.slice(0, 3)} ${next.slice(3)}`);
  await page.click('[data-test=login-submit]');
  await page.waitForURL((u) => !/\/login/.test(u.pathname));
  await page.locator('nav.wg-side', { hasText: '网格与人口' }).waitFor();
  assert.match(await page.locator('[data-test=whoami]').innerText(), /指挥部/);
  assert.deepEqual(errors, []);
  await ctx.close();
});

/** Signs in through the API with a code; the token. */
async function signInApiToken(username, code) {
  const r = await srv.api('POST', '/api/v1/session', { body: { username, password: h.DEMO_PASSWORD, totp: code } });
  assert.equal(r.status, 201, r.text);
  return r.json.token;
}

test('new recovery codes: the old ones stop working, a new one signs in once', async () => {
  const ctx = await h.context(browser);
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  await h.signInUi(page, srv.base, 'command');
  await page.locator('#wg-totp').waitFor();
  // The phone is not at hand: a recovery code instead.
  await page.fill('#wg-totp', codes[0].toUpperCase());
  await page.click('[data-test=login-submit]');
  await page.waitForURL((u) => !/\/login/.test(u.pathname));
  await page.click('[data-test=account-link]');
  await page.waitForURL(/\/account$/);
  await page.locator('[data-test=account-totp-state]', { hasText: '已启用' }).waitFor();
  await page.click('[data-test=account-totp-open]');
  await page.waitForURL(/\/account\/totp$/);
  await page.locator('[data-test=totp-left]', { hasText: '9' }).waitFor();
  // The role must use it: no way to turn it off here, and the page says whom to ask.
  assert.equal(await page.locator('[data-test=totp-off]').count(), 0);
  assert.match(await page.locator('[data-test=totp-on]').innerText(), /不能自己关闭/);
  await page.fill('#tp-renew-code', codes[1]);
  await page.click('[data-test=tp-renew]');
  const fresh = await readCodes(page);
  assert.ok(fresh.every((c) => !codes.includes(c)));
  await page.click('[data-test=totp-saved]');
  await page.click('[data-test=totp-finish]');
  await page.locator('[data-test=totp-left]', { hasText: '10' }).waitFor();
  const old = await srv.api('POST', '/api/v1/session', { body: { username: 'command', password: h.DEMO_PASSWORD, totp: codes[2] } });
  assert.equal(old.status, 401, 'an old code no longer works');
  assert.ok(await signInApiToken('command', fresh[0]));
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a user who may choose sets it up from 个人中心 and turns it off again', async () => {
  const ctx = await h.context(browser);
  await h.signInApi(ctx, srv.base, 'community');
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  await page.goto(`${srv.base}/account`);
  await page.locator('[data-test=account-totp-state]', { hasText: '未启用' }).waitFor();
  await page.click('[data-test=account-totp-open]');
  await page.waitForURL(/\/account\/totp$/);
  const s = await setUp(page, 'community', h.DEMO_PASSWORD);
  await page.fill('#tp-code', totp(s));
  await page.click('[data-test=tp-confirm]');
  const mine = await readCodes(page);
  await page.click('[data-test=totp-saved]');
  await page.click('[data-test=totp-finish]');
  await page.locator('[data-test=totp-state]', { hasText: '已启用' }).waitFor();
  const asked = await srv.api('POST', '/api/v1/session', { body: { username: 'community', password: h.DEMO_PASSWORD } });
  assert.equal(asked.status, 401);
  assert.equal(asked.json.error.code, 'totp_required');
  // Off: password and a code (a recovery code will do), after a confirmation.
  await page.fill('#tp-off-password', h.DEMO_PASSWORD);
  await page.fill('#tp-off-code', mine[4]);
  await page.click('[data-test=tp-off]');
  await page.locator('.el-message-box', { hasText: '关闭双因素登录' }).locator('.el-button--primary').click();
  await page.locator('[data-test=totp-setup]').waitFor();
  const plain = await srv.api('POST', '/api/v1/session', { body: { username: 'community', password: h.DEMO_PASSWORD } });
  assert.equal(plain.status, 201, 'the password alone signs in again');
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('on the phone app: a grid worker who chose two factors is asked for the code', async () => {
  const token = (await srv.api('POST', '/api/v1/session', { body: { username: 'gridworker', password: h.DEMO_PASSWORD } })).json.token;
  const begun = await srv.api('POST', '/api/v1/me/totp', { token, body: { password: h.DEMO_PASSWORD } });
  assert.equal(begun.status, 201, begun.text);
  const s = begun.json.secret;
  assert.equal((await srv.api('POST', '/api/v1/me/totp/confirm', { token, body: { code: totp(s) } })).status, 200);
  const ctx = await h.context(browser, { phone: true });
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  await page.goto(`${srv.base}/m/login`);
  await page.fill('#m-username', 'gridworker');
  await page.fill('#m-password', h.DEMO_PASSWORD);
  await page.click('[data-test=m-login-submit]');
  await page.locator('#m-totp').waitFor();
  assert.match(await page.locator('[data-test=m-login-totp-notice]').innerText(), /动态验证码/);
  await page.fill('#m-totp', totp(s, 1));
  await page.click('[data-test=m-login-submit]');
  await page.waitForURL(/\/m\/$/);
  assert.deepEqual(errors, []);
  await ctx.close();
});

test('a lost phone: the administrator resets it from 用户管理, and the account sets it up again', async () => {
  // The administrator signs in with two factors as well.
  const first = await srv.api('POST', '/api/v1/session', { body: { username: 'admin', password: h.ADMIN_PASSWORD } });
  assert.equal(first.json.totp_enrollment_required, true);
  const begun = await srv.api('POST', '/api/v1/me/totp', { token: first.json.token, body: { password: h.ADMIN_PASSWORD } });
  assert.equal((await srv.api('POST', '/api/v1/me/totp/confirm', { token: first.json.token, body: { code: totp(begun.json.secret) } })).status, 200);
  const ctx = await h.context(browser);
  const r = await ctx.request.post(`${srv.base}/api/v1/session`, { data: { username: 'admin', password: h.ADMIN_PASSWORD, totp: totp(begun.json.secret, 1) } });
  assert.equal(r.status(), 201, await r.text());
  const page = await ctx.newPage();
  const errors = h.watchErrors(page);
  await page.goto(`${srv.base}/admin/users`);
  await page.click('[data-test=user-edit-command]');
  await page.click('[data-test=uf-totp-reset]');
  await page.locator('.el-message-box', { hasText: '重置 command 的双因素登录' }).locator('.el-button--primary').click();
  await page.locator('.el-message', { hasText: '已重置 command 的双因素登录' }).waitFor();
  const again = await srv.api('POST', '/api/v1/session', { body: { username: 'command', password: h.DEMO_PASSWORD } });
  assert.equal(again.status, 201, 'no code asked any more');
  assert.equal(again.json.totp_enrollment_required, true, 'and it must set it up again');
  assert.deepEqual(errors, []);
  await ctx.close();
});

// Two-factor sign-in (等保 2.0 level 3): TOTP codes (RFC 6238) and recovery
// codes for the admin, auditor and command roles when wangge.conf says so.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, ADMIN_PASSWORD, DEMO_PASSWORD } = require('./helpers');
const { expectError, poll, totpCode } = require('./expect');

let srv;
const at = (secret, steps = 0) => totpCode(secret, Date.now() / 1000 + steps * 30);
const signIn = (username, password, totp) => srv.api('POST', '/api/v1/session', { body: { username, password, ...(totp === undefined ? {} : { totp }) } });

before(async () => { srv = await startServer({ totp_required: 1, login_fails_per_user: 1000 }); });
const secrets = {};
after(async () => { if (srv) await srv.stop(); });

// Enrolls an account from a session; returns the secret and the recovery codes.
async function enroll(token, password) {
  const begun = await srv.api('POST', '/api/v1/me/totp', { token, body: { password } });
  assert.equal(begun.status, 201, begun.text);
  assert.match(begun.json.secret, /^[A-Z2-7]{32}$/);
  assert.match(begun.json.uri, /^otpauth:\/\/totp\/wangge:[a-z0-9_.-]+\?secret=[A-Z2-7]{32}&issuer=wangge/);
  const done = await srv.api('POST', '/api/v1/me/totp/confirm', { token, body: { code: at(begun.json.secret) } });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.recovery_codes.length, 10);
  return { secret: begun.json.secret, recovery: done.json.recovery_codes };
}

test('a role that must use two factors signs in once without, and may then only set them up', async () => {
  const s = await signIn('command', DEMO_PASSWORD);
  assert.equal(s.status, 201, s.text);
  assert.equal(s.json.totp_enrollment_required, true);
  const token = s.json.token;
  const e = expectError(await srv.api('GET', '/api/v1/grids', { token }), 403, 'totp_enrollment_required');
  assert.match(e.message_en, /authenticator/);
  expectError(await srv.api('POST', '/api/v1/grids', { token, body: { parent_id: 4, kind: 'building', name: 'x' } }), 403, 'totp_enrollment_required');
  const me = await srv.api('GET', '/api/v1/me', { token });
  assert.equal(me.status, 200);
  assert.equal(me.json.totp_enrollment_required, true);
  const state = await srv.api('GET', '/api/v1/me/totp', { token });
  assert.deepEqual(state.json, { enabled: false, pending: false, required: true, recovery_codes_left: 0 });
  // Others are not asked.
  const gw = await signIn('gridworker', DEMO_PASSWORD);
  assert.equal(gw.json.totp_enrollment_required, undefined);
  assert.equal((await srv.api('GET', '/api/v1/grids', { token: gw.json.token })).status, 200);
  // Setting up: the password again, then a code from the app.
  expectError(await srv.api('POST', '/api/v1/me/totp', { token, body: { password: 'wrong-Password-1' } }), 422, 'validation_failed', 'password');
  const begun = await srv.api('POST', '/api/v1/me/totp', { token, body: { password: DEMO_PASSWORD } });
  assert.equal(begun.status, 201, begun.text);
  const wrong = String((Number(at(begun.json.secret)) + 1) % 1000000).padStart(6, '0');
  expectError(await srv.api('POST', '/api/v1/me/totp/confirm', { token, body: { code: wrong } }), 422, 'validation_failed', 'code');
  const done = await srv.api('POST', '/api/v1/me/totp/confirm', { token, body: { code: at(begun.json.secret) } });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.json.recovery_codes.length, 10);
  for (const c of done.json.recovery_codes) assert.match(c, /^[a-z2-9]{5}-[a-z2-9]{5}$/);
  // The session may do everything now.
  assert.equal((await srv.api('GET', '/api/v1/grids', { token })).status, 200);
});

test('sign-in with two factors: no code is 401 totp_required, a wrong or reused code a failure, recovery codes once each', async () => {
  const t = (await signIn('admin', ADMIN_PASSWORD)).json.token;
  const { secret, recovery } = await enroll(t, ADMIN_PASSWORD);
  secrets.admin = recovery;
  const none = expectError(await signIn('admin', ADMIN_PASSWORD), 401, 'totp_required', 'totp');
  assert.match(none.message, /验证码/);
  expectError(await signIn('admin', 'Wrong-password-1', at(secret)), 401, 'bad_credentials');
  const bad = String((Number(at(secret)) + 500000) % 1000000).padStart(6, '0');
  expectError(await signIn('admin', ADMIN_PASSWORD, bad), 401, 'bad_credentials', 'totp');
  // A code one step old is still good (clock drift); the same step twice is not.
  const next = at(secret, 1);
  const ok = await signIn('admin', ADMIN_PASSWORD, `${next.slice(0, 3)} ${next.slice(3)}`);
  assert.equal(ok.status, 201, ok.text);
  assert.equal(ok.json.totp_enrollment_required, undefined);
  expectError(await signIn('admin', ADMIN_PASSWORD, next), 401, 'bad_credentials', 'totp');
  // A recovery code, typed in upper case without its dash, works once.
  const rc = recovery[0].replace('-', '').toUpperCase();
  assert.equal((await signIn('admin', ADMIN_PASSWORD, rc)).status, 201);
  expectError(await signIn('admin', ADMIN_PASSWORD, rc), 401, 'bad_credentials', 'totp');
  const st = await srv.api('GET', '/api/v1/me/totp', { token: ok.json.token });
  assert.deepEqual(st.json, { enabled: true, pending: false, required: true, recovery_codes_left: 9 });
  // A required role cannot turn it off.
  expectError(await srv.api('DELETE', '/api/v1/me/totp', { token: ok.json.token, body: { password: ADMIN_PASSWORD, code: at(secret, 2) } }),
    403, 'forbidden');
  expectError(await signIn('admin', ADMIN_PASSWORD, 'not a code'), 401, 'bad_credentials', 'totp');
  expectError(await signIn('admin', ADMIN_PASSWORD, 123456), 422, 'validation_failed', 'totp');
});

test('the login log and the audit trail record what happened', async () => {
  const admin = (await srv.api('POST', '/api/v1/session', { body: { username: 'admin', password: ADMIN_PASSWORD, totp: 'x' } }));
  expectError(admin, 401, 'bad_credentials', 'totp');
  const auditor = (await signIn('auditor', DEMO_PASSWORD)).json.token;
  const { secret } = await enroll(auditor, DEMO_PASSWORD);
  const a2 = (await signIn('auditor', DEMO_PASSWORD, at(secret, 1))).json.token;
  const recs = await poll(async () => {
    const r = await srv.api('GET', '/api/v1/audit?resource=session&limit=300', { token: a2 });
    const f = r.json.items.filter((x) => x.username === 'admin' && x.action === 'login_failed' && x.record_id === 'wrong_totp');
    return f.length >= 3 ? f : null;
  });
  assert.ok(recs, 'every wrong code is audited');
  const users = await srv.api('GET', '/api/v1/audit?resource=users&limit=300', { token: a2 });
  assert.ok(users.json.items.some((x) => x.action === 'totp_enable' && x.username === 'command'));
});

test('a lost authenticator: the admin resets another account, the CLI any', async () => {
  // community may use two factors without being required to.
  const first = await signIn('community', DEMO_PASSWORD);
  const { secret } = await enroll(first.json.token, DEMO_PASSWORD);
  expectError(await signIn('community', DEMO_PASSWORD), 401, 'totp_required');
  const cli = srv.cli(['user', 'totp-reset', 'community']);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /reset/);
  const again = await signIn('community', DEMO_PASSWORD);
  assert.equal(again.status, 201, 'no code asked once reset');
  // It may turn it off itself, with its password and a code (a recovery code will do).
  const e2 = await enroll(again.json.token, DEMO_PASSWORD);
  const t3 = (await signIn('community', DEMO_PASSWORD, at(e2.secret, 1))).json.token;
  expectError(await srv.api('DELETE', '/api/v1/me/totp', { token: t3, body: { password: DEMO_PASSWORD } }), 422, 'required', 'code');
  assert.equal((await srv.api('DELETE', '/api/v1/me/totp', { token: t3, body: { password: DEMO_PASSWORD, code: e2.recovery[3] } })).status, 204);
  assert.equal((await signIn('community', DEMO_PASSWORD)).status, 201);
  assert.ok(secret);
  // The admin resets the command center's: its sessions end, it sets up again.
  const admin = (await signIn('admin', ADMIN_PASSWORD, secrets.admin[1])).json.token;
  assert.ok(admin, 'the admin signs in with a recovery code');
  const users = (await srv.api('GET', '/api/v1/users?q=command', { token: admin })).json.items;
  const command = users.find((u) => u.username === 'command');
  assert.equal((await srv.api('DELETE', `/api/v1/users/${command.id}/totp`, { token: admin })).status, 204);
  const c = await signIn('command', DEMO_PASSWORD);
  assert.equal(c.status, 201);
  assert.equal(c.json.totp_enrollment_required, true);
  // Not her own, nor an auditor's.
  const me = (await srv.api('GET', '/api/v1/me', { token: admin })).json;
  expectError(await srv.api('DELETE', `/api/v1/users/${me.id}/totp`, { token: admin }), 403, 'forbidden');
  const aud = (await srv.api('GET', '/api/v1/users?role=auditor', { token: admin })).json.items[0];
  expectError(await srv.api('DELETE', `/api/v1/users/${aud.id}/totp`, { token: admin }), 403, 'forbidden');
});

test('the secret is encrypted like personal data: rotated with the field key, still good after the old key is gone', async () => {
  const first = await signIn('command', DEMO_PASSWORD);
  assert.equal(first.json.totp_enrollment_required, true, 'reset in the test before');
  const { secret } = await enroll(first.json.token, DEMO_PASSWORD);
  const data = srv.data;
  await srv.stop();
  srv = null;
  const stored = require('./helpers').sql(data, "SELECT totp_secret_enc FROM users WHERE username = 'command'");
  assert.match(stored, /^k1:/, 'encrypted, not the secret itself');
  assert.ok(!stored.includes(secret));
  const r = require('./helpers').run(['keys', 'rotate', '--data', data.dir]);
  assert.equal(r.code, 0, r.stderr);
  require('node:fs').unlinkSync(require('node:path').join(data.dir, 'keys', 'field.1.key'));
  srv = await startServer({}, data);
  const again = await signIn('command', DEMO_PASSWORD, at(secret, 1));
  assert.equal(again.status, 201, again.text);
});

// wangge backup (issue 14, point 15): the file holds names and addresses, so
// it is readable by its owner only, and it can be encrypted with a key the
// operator gives (and decrypted with it, nothing else).
'use strict';
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { initData, run, STORE } = require('./helpers');

test('a backup is 0600 whatever the umask; encrypted with the operator\'s key it shows nothing and decrypts back', { skip: STORE === 'postgres' && 'PostgreSQL is backed up with pg_dump' }, () => {
  const data = initData();
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'wangge-backup-'));
  const plain = path.join(out, 'plain.db');
  // Under the most open umask a shell may have.
  const r = execFileSync('sh', ['-c', `umask 000; exec "$0" backup --data "$1" --to "$2"`, require('./helpers').BIN, data.dir, plain],
    { encoding: 'utf8' });
  assert.match(r, /backup written/);
  assert.equal(fs.statSync(plain).mode & 0o777, 0o600);
  assert.ok(fs.readFileSync(plain).subarray(0, 16).toString().startsWith('SQLite format 3'));
  assert.deepEqual(fs.readdirSync(out), ['plain.db'], 'no partial file left behind');
  // Encrypted.
  const key = path.join(out, 'backup.key');
  fs.writeFileSync(key, crypto.randomBytes(32), { mode: 0o600 });
  const sealed = path.join(out, 'sealed.wgb');
  const e = run(['backup', '--data', data.dir, '--to', sealed, '--key', key]);
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /encrypted/);
  assert.equal(fs.statSync(sealed).mode & 0o777, 0o600);
  const bytes = fs.readFileSync(sealed);
  assert.equal(bytes.subarray(0, 10).toString(), 'WGBACKUP1\n');
  for (const plainText of ['SQLite format 3', '测试县', 'gridworker', '网格员小王']) {
    assert.equal(bytes.includes(Buffer.from(plainText)), false, `${plainText} readable in the encrypted file`);
  }
  const back = path.join(out, 'back.db');
  const d = run(['backup', '--decrypt', sealed, '--key', key, '--to', back]);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(fs.statSync(back).mode & 0o777, 0o600);
  assert.equal(execFileSync('sqlite3', [back, "SELECT username FROM users WHERE username = 'gridworker'"], { encoding: 'utf8' }).trim(), 'gridworker');
  // A wrong key, or a file altered or cut short, decrypts to nothing.
  const other = path.join(out, 'other.key');
  fs.writeFileSync(other, crypto.randomBytes(32), { mode: 0o600 });
  const bad = path.join(out, 'bad.db');
  let w = run(['backup', '--decrypt', sealed, '--key', other, '--to', bad]);
  assert.equal(w.code, 1);
  assert.match(w.stderr, /does not decrypt/);
  assert.equal(fs.existsSync(bad), false);
  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 40] ^= 1;
  fs.writeFileSync(path.join(out, 'flipped.wgb'), flipped);
  w = run(['backup', '--decrypt', path.join(out, 'flipped.wgb'), '--key', key, '--to', bad]);
  assert.equal(w.code, 1);
  fs.writeFileSync(path.join(out, 'short.wgb'), bytes.subarray(0, 10 + 24 + 65536 + 17));
  w = run(['backup', '--decrypt', path.join(out, 'short.wgb'), '--key', key, '--to', bad]);
  assert.equal(w.code, 1, 'a file cut at a chunk boundary lacks its final chunk');
  // A key file others may read is refused.
  fs.chmodSync(key, 0o644);
  assert.equal(run(['backup', '--data', data.dir, '--to', path.join(out, 'x.wgb'), '--key', key]).code, 2);
  fs.rmSync(out, { recursive: true, force: true });
});

test('PostgreSQL: wangge backup points to pg_dump', { skip: STORE !== 'postgres' && 'SQLite is backed up by wangge backup' }, () => {
  const data = initData();
  const r = run(['backup', '--data', data.dir, '--to', path.join(os.tmpdir(), `never-${process.pid}.db`)]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /pg_dump/);
});

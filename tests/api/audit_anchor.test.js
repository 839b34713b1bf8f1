// The end of the audit trail (issue 14, point 1) and its volume (point 5):
// a keyed head and signed checkpoints outside the database show a trail cut
// short, rolled back or with a rewritten head; reads of what is not personal
// data are counted per user and minute; old records move to signed archive
// files that `wangge audit verify` reads with the live chain.
'use strict';
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { startServer, sql, run, ADMIN_PASSWORD, DEMO } = require('./helpers');
const { expectError } = require('./expect');

let srv, data;
const verify = (...extra) => run(['audit', 'verify', '--data', data.dir, ...extra]);
const count = () => Number(sql(data, 'SELECT COUNT(*) FROM audit'));
const head = () => sql(data, 'SELECT last_id FROM audit_head');
const checkpoints = () => fs.readFileSync(path.join(data.dir, 'audit/checkpoints'), 'utf8').trim().split('\n');

async function someWork(n = 3) {
  const command = await srv.login('command');
  for (let i = 0; i < n; i++) {
    const r = await srv.api('POST', '/api/v1/grids', { token: command, body: { parent_id: DEMO.grid, kind: 'building', name: `审计楼${i}` } });
    assert.equal(r.status, 201, r.text);
  }
}

async function restart() {
  srv = await startServer({}, data);
}

before(async () => {
  srv = await startServer();
  data = srv.data;
  await someWork();
});
after(async () => { if (srv) await srv.stop(); });

test('the server signs the head into audit/checkpoints and the log; verify reads both', async () => {
  const stderr = () => srv.stderr;
  await srv.stop();
  const log = stderr();
  srv = null;
  assert.match(log, /audit checkpoint .*WGCP1 \d+ /, 'the checkpoint is in the log');
  const lines = checkpoints();
  assert.ok(lines.length >= 2, 'one at start, one at stop');
  const last = lines[lines.length - 1].split(' ');
  assert.equal(last[0], 'WGCP1');
  const st = fs.statSync(path.join(data.dir, 'audit/checkpoints'));
  assert.equal(st.mode & 0o777, 0o600);
  const v = verify();
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, new RegExp(`intact.*: ${count()} records, ${lines.length} checkpoints`));
  // The log's copy can be given too (journalctl -u wangge > copy).
  const copy = path.join(data.dir, 'log-copy.txt');
  fs.writeFileSync(copy, log);
  assert.equal(verify('--checkpoints', copy).code, 0);
  await restart();
});

test('cutting the end off as the issue did (rows deleted, head set back by SQL) is detected', async () => {
  await someWork();
  await srv.stop();
  srv = null;
  const n = count();
  const cut = n - 3;
  sql(data, `DELETE FROM audit WHERE id > ${cut}`);
  sql(data, `UPDATE audit_head SET last_id = ${cut}, last_hash = (SELECT hash FROM audit WHERE id = ${cut})`);
  const v = verify();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, /BROKEN/);
  assert.match(v.stdout, new RegExp(`head of the chain \\(record ${cut}\\) was rewritten`));
});

test('a rollback to an older copy (the head with its valid MAC) is detected by the checkpoints', async () => {
  // A fresh trail for this test.
  srv = await startServer();
  data = srv.data;
  await srv.stop();
  srv = null;
  sql(data, 'CREATE TABLE audit_head_old AS SELECT * FROM audit_head');
  const old = Number(head());
  await restart();
  await someWork(2);
  await srv.stop();
  srv = null;
  assert.equal(verify().code, 0);
  sql(data, `DELETE FROM audit WHERE id > ${old}`);
  sql(data, 'UPDATE audit_head SET last_id = (SELECT last_id FROM audit_head_old), last_hash = (SELECT last_hash FROM audit_head_old),'
    + ' mac = (SELECT mac FROM audit_head_old)');
  const v = verify();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`chain ends at record ${old} but checkpoint \\d+ signed record \\d+`));
  assert.match(v.stdout, /older copy/);
});

test('a checkpoints file cut short or edited is detected; so is a file and a database rolled back together, by the log', async () => {
  srv = await startServer();
  data = srv.data;
  await someWork(1);
  await srv.stop();
  const log = srv.stderr;
  srv = null;
  const file = path.join(data.dir, 'audit/checkpoints');
  const lines = checkpoints();
  assert.equal(verify().code, 0);
  // The last line gone: the chain recorded it.
  fs.writeFileSync(file, lines.slice(0, -1).join('\n') + '\n');
  let v = verify();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, new RegExp(`chain records checkpoint ${lines.length} but audit/checkpoints holds ${lines.length - 1}`));
  // An edited line: its signature fails.
  fs.writeFileSync(file, [lines[0].replace(/^WGCP1 1 (\d+) (\d+)/, (m, at, id) => `WGCP1 1 ${at} ${Number(id) + 1}`), ...lines.slice(1)].join('\n') + '\n');
  v = verify();
  assert.equal(v.code, 1);
  assert.match(v.stdout, /audit\/checkpoints line 1 is not/);
  // File and database rolled back together to before the last checkpoint: only the log copy shows it.
  // (Here the file alone is cut back to its first line: whatever the database says, the log's later line shows it.)
  fs.writeFileSync(file, lines.slice(0, 1).join('\n') + '\n');
  const copy = path.join(data.dir, 'journal.txt');
  fs.writeFileSync(copy, log);
  v = verify('--checkpoints', copy);
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, /is in .*journal\.txt but not in audit\/checkpoints: the file was cut short/);
});

test('POST /api/v1/audit/verify answers the auditor\'s page; the admin may not', async () => {
  srv = await startServer();
  data = srv.data;
  await someWork(1);
  const auditor = await srv.login('auditor');
  const r = await srv.api('POST', '/api/v1/audit/verify', { token: auditor });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.intact, true, r.text);
  assert.ok(r.json.records > 0);
  assert.ok(r.json.checkpoints >= 1);
  assert.equal(r.json.reason, '');
  expectError(await srv.api('POST', '/api/v1/audit/verify', { token: await srv.login('admin', ADMIN_PASSWORD) }), 403, 'forbidden');
  expectError(await srv.api('POST', '/api/v1/audit/verify', { token: auditor, body: { deep: true } }), 422, 'unknown_field', 'deep');
  await srv.stop();
  srv = null;
  sql(data, "UPDATE audit SET address = '10.9.9.9' WHERE id = 2");
  await restart();
  const bad = await srv.api('POST', '/api/v1/audit/verify', { token: await srv.login('auditor') });
  assert.equal(bad.status, 200);
  assert.equal(bad.json.intact, false);
  assert.match(bad.json.reason, /record 2 was altered/);
  assert.match(bad.json.reason_en, /^record 2 was altered/);
  assert.ok(!bad.json.reason_en.includes(' / '), bad.json.reason_en);
  assert.match(bad.json.reason_zh, /[\u4e00-\u9fff]/);
  assert.equal(bad.json.first_bad_id, 2);
});

test('reads of the tree and venues are counted per user and minute; reads of persons stay one record each', async () => {
  if (srv) await srv.stop();
  srv = await startServer();
  data = srv.data;
  const gw = await srv.login('gridworker');
  const community = await srv.login('community');
  for (let i = 0; i < 20; i++) assert.equal((await srv.api('GET', `/api/v1/grids/${DEMO.grid}`, { token: gw })).status, 200);
  const list = await srv.api('GET', `/api/v1/grids?grid=${DEMO.grid}&limit=5`, { token: gw });
  assert.equal((await srv.api('GET', `/api/v1/grids/${DEMO.grid}/children`, { token: gw })).status, 200);
  const p = await srv.api('POST', '/api/v1/persons', { token: community, body: { grid_id: DEMO.grid, name: '计数' } });
  for (let i = 0; i < 3; i++) assert.equal((await srv.api('GET', `/api/v1/persons/${p.json.id}`, { token: community })).status, 200);
  await srv.stop();
  srv = null;
  const reads = sql(data, "SELECT username, resource, record_id, node_path FROM audit WHERE action = 'reads' AND username = 'gridworker'")
    .split('\n').filter(Boolean).map((l) => l.split('|'));
  const total = reads.reduce((s, r) => s + Number(r[2]), 0);
  assert.ok(reads.length >= 1 && reads.length <= 2, `one record per minute: ${JSON.stringify(reads)}`);
  assert.ok(reads.every((r) => r[1] === 'grids' && r[3] === '/1/2/3/4/'));
  assert.ok(total >= 20 + list.json.items.length, `${total} reads counted`);
  assert.equal(sql(data, "SELECT COUNT(*) FROM audit WHERE action = 'read' AND resource = 'grids'"), '0');
  assert.equal(sql(data, `SELECT COUNT(*) FROM audit WHERE action = 'read' AND resource = 'persons' AND record_id = '${p.json.id}'`), '3');
  assert.equal(verify().code, 0);
});

test('a venue\'s scans by one user are gathered into records that count them; the count is chained', async () => {
  await restart();
  const command = await srv.login('command');
  const v = await srv.api('POST', '/api/v1/venues', { token: command, body: { grid_id: DEMO.grid, name: '审计卡口', kind: 'checkpoint' } });
  assert.equal(v.status, 201, v.text);
  const firstId = Number(head()) + 1;
  // Forty people at the gate at once, each scan answered on its own.
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => srv.api('POST', '/api/v1/scans',
    { token: command, body: { venue_code: v.json.code, phone: `1370000${String(1000 + i)}` } })));
  for (const r of answers) assert.equal(r.status, 201, r.text);
  await srv.stop();
  srv = null;
  const recs = sql(data, `SELECT id, events, record_id, node_path, change_hash FROM audit WHERE action = 'scan' AND id >= ${firstId}`)
    .split('\n').filter(Boolean).map((l) => l.split('|'));
  assert.equal(recs.reduce((n, r) => n + Number(r[1]), 0), 40, 'every scan counted once');
  assert.ok(recs.length < 40, `gathered: ${recs.length} records for 40 scans`);
  assert.ok(recs.every((r) => r[2] === String(v.json.id) && r[3] === '/1/2/3/4/' && /^[0-9a-f]{64}$/.test(r[4])));
  assert.equal(verify().code, 0);
  // The count is covered by the record's MAC: one scan more or less is found.
  const many = recs.find((r) => Number(r[1]) > 1);
  sql(data, `UPDATE audit SET events = events - 1 WHERE id = ${many[0]}`);
  const bad = verify();
  assert.equal(bad.code, 1, bad.stdout);
  assert.match(bad.stdout, new RegExp(`record ${many[0]} was altered`));
  sql(data, `UPDATE audit SET events = events + 1 WHERE id = ${many[0]}`);
  assert.equal(verify().code, 0);
});

test('old records move to signed, compressed archive files; verify reads them with the live chain', async () => {
  const before = count();
  const a = run(['audit', 'archive', '--days', '0', '--data', data.dir]);
  assert.equal(a.code, 0, a.stderr);
  const moved = Number(a.stdout.match(/^(\d+) audit records archived/)[1]);
  assert.ok(moved >= before - 2, a.stdout);
  const dir = path.join(data.dir, 'audit/archive');
  const files = fs.readdirSync(dir).sort();
  assert.deepEqual(files.map((f) => f.replace(/^\d+-\d+-\d+/, 'N')), ['N.sig', 'N.tsv.gz']);
  const gz = path.join(dir, files[1]);
  assert.equal(fs.statSync(gz).mode & 0o777, 0o400);
  const lines = zlib.gunzipSync(fs.readFileSync(gz)).toString('utf8').trim().split('\n');
  assert.equal(lines.length, moved);
  assert.equal(lines[0].split('\t')[0], '1');
  assert.equal(lines[0].split('\t').length, 12);
  // A record of several scans carries their count as a thirteenth field; it reads back the same.
  const gathered = lines.map((l) => l.split('\t')).filter((f) => f[5] === 'scan' && f.length === 13);
  assert.ok(gathered.length >= 1 && gathered.every((f) => Number(f[12]) > 1), 'the gathered scans keep their count');
  assert.match(fs.readFileSync(path.join(dir, files[0]), 'utf8'), /^WGARCH1 1 1 \d+ \d+ [0-9a-f]{64} [0-9a-f]{64} [0-9a-f]{64} [0-9a-f]{128}\n$/);
  assert.ok(count() < before, 'the live table holds less');
  assert.equal(sql(data, "SELECT COUNT(*) FROM audit WHERE action = 'archive'"), '1');
  let v = verify();
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, new RegExp(`${before + 1} records, \\d+ checkpoints, 1 archives`));
  // The server goes on after the archive; the auditor's list shows the live records.
  await restart();
  const auditor = await srv.login('auditor');
  const live = await srv.api('GET', '/api/v1/audit?limit=1000', { token: auditor });
  assert.ok(live.json.items.every((x) => x.id > moved));
  assert.equal((await srv.api('POST', '/api/v1/audit/verify', { token: auditor })).json.intact, true);
  await srv.stop();
  srv = null;
  // An archive altered: a record changed inside it.
  fs.chmodSync(gz, 0o600);
  const orig = fs.readFileSync(gz);
  const changed = lines.map((l, i) => (i === 2 ? l.replace(/\t127\.0\.0\.1\t|\t\t/, '\t10.0.0.9\t') : l));
  fs.writeFileSync(gz, zlib.gzipSync(changed.join('\n') + '\n'));
  v = verify();
  assert.equal(v.code, 1, v.stdout);
  assert.match(v.stdout, /archive 000001|record 3 was altered/);
  // Put back, then its signature line removed.
  fs.writeFileSync(gz, orig);
  assert.equal(verify().code, 0);
  const sig = path.join(dir, files[0]);
  const sigText = fs.readFileSync(sig);
  fs.chmodSync(sig, 0o600);
  fs.unlinkSync(sig);
  v = verify();
  assert.equal(v.code, 1);
  assert.match(v.stdout, /archive 000001: its signature line is missing/);
  fs.writeFileSync(sig, sigText);
  // The archive removed with its listing: the chain no longer starts at 1.
  sql(data, 'DELETE FROM audit_archives');
  v = verify();
  assert.equal(v.code, 1);
  assert.match(v.stdout, /record 1 is missing/);
});

'use strict';
// Large imports as background jobs: 202 at once, progress and the answer
// from GET /api/v1/jobs/{id}, all or nothing as ever, visible to its owner only.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startServer, DEMO } = require('./helpers');
const { expectError } = require('./expect');
const CSV = { 'content-type': 'text/csv' };

let srv, community, gridworker;
before(async () => {
  srv = await startServer();
  [community, gridworker] = await Promise.all(['community', 'gridworker'].map((u) => srv.login(u)));
});
after(async () => { await srv.stop(); });

const GRID = '32092300100100000001';
const roster = (rows) => Buffer.from(['姓名,联系电话,现住址,网格编码', ...rows].join('\r\n') + '\r\n');
const cjk = (k) => String(k).replace(/[0-9]/g, (d) => '零一二三四五六七八九'[d]);  // names hold no digits
const rows = (n, from = 0, who = '后台') => Array.from({ length: n }, (_, i) => `${who}${cjk(from + i)},1381234${String(from + i).padStart(4, '0')},兴阜小区${from + i}号,${GRID}`);

async function finished(token, id) {
  for (let i = 0; i < 400; i++) {
    const r = await srv.api('GET', `/api/v1/jobs/${id}`, { token });
    assert.equal(r.status, 200, r.text);
    if (r.json.status !== 'running') return r.json;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('job did not finish');
}

test('an import with async=1 answers 202 with a job that reports its result', async () => {
  const r = await srv.api('POST', '/api/v1/persons/import?async=1', { token: community, raw: roster(rows(1500)), headers: CSV });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.headers.get('location'), `/api/v1/jobs/${r.json.id}`);
  assert.equal(r.json.kind, 'persons');
  const job = await finished(community, r.json.id);
  assert.equal(job.status, 'done');
  assert.equal(job.http_status, 200);
  assert.equal(job.rows, 1500);
  assert.deepEqual([job.result.inserted, job.result.errors.length], [1500, 0]);
  const list = await srv.api('GET', `/api/v1/persons?grid=${DEMO.grid}&limit=1`, { token: community });
  assert.equal(list.json.total, 1500);
});

test('a background import is all or nothing too, and only its owner sees the job', async () => {
  const bad = roster([...rows(10, 5000, '失败'), `坏行,12345,某处,${GRID}`]);
  const r = await srv.api('POST', '/api/v1/persons/import?async=1', { token: community, raw: bad, headers: CSV });
  assert.equal(r.status, 202);
  const job = await finished(community, r.json.id);
  // Refused for what the file holds: done, with the 422 answer ("failed" is a server error).
  assert.equal(job.status, 'done');
  assert.equal(job.http_status, 422);
  assert.equal(job.result.inserted, 0);
  assert.deepEqual(job.result.errors.map((e) => [e.row, e.field]), [[12, 'phone']]);
  const list = await srv.api('GET', `/api/v1/persons?q=${encodeURIComponent('失败')}&limit=1`, { token: community });
  assert.equal(list.json.total, 0, 'nothing of the failed file was kept');
  expectError(await srv.api('GET', `/api/v1/jobs/${r.json.id}`, { token: gridworker }), 404, 'not_found');
  expectError(await srv.api('GET', '/api/v1/jobs/99999', { token: community }), 404, 'not_found');
  expectError(await srv.api('POST', '/api/v1/persons/import?async=2', { token: community, raw: bad, headers: CSV }), 400, 'bad_query', 'async');
});

test('a background import refused for what the file is (no header row) ends done with its 422, not failed (issue 14, point 13)', async () => {
  const r = await srv.api('POST', '/api/v1/persons/import?async=1', { token: community, raw: Buffer.from('这不是表格\n随便写写\n'), headers: CSV });
  assert.equal(r.status, 202, r.text);
  const job = await finished(community, r.json.id);
  assert.equal(job.http_status, 422);
  assert.equal(job.status, 'done', '"failed" is kept for server errors');
  assert.equal(job.result.error.code, 'validation_failed');
});

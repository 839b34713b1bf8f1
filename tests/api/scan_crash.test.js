'use strict';
// A checkpoint's server killed (kill -9) while scans are being answered:
// every scan it answered 201 is there after the restart, exactly once, and
// the server starts on what the crash left (a torn end of the log is cut,
// never used).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { startServer, initData, BIN, DEMO } = require('./helpers');

const PERSONS = 400;

// POST one scan on a kept-alive agent; resolves with the status, or null
// when the connection died first (the crash).
function postScan(srv, agent, token, body) {
  return new Promise((resolve) => {
    const data = JSON.stringify(body);
    const req = http.request({
      host: '127.0.0.1', port: srv.port, path: '/api/v1/scans', method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), authorization: `Bearer ${token}` },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
      res.on('error', () => resolve(null));
    });
    req.on('error', () => resolve(null));
    req.end(data);
  });
}

test('kill -9 while scans are answered: each one answered 201 is kept, exactly once', async () => {
  const data = initData({}, BIN, PERSONS);
  let srv = await startServer({}, data);
  const command = await srv.login('command');
  const v = await srv.api('POST', '/api/v1/venues', { token: command, body: { grid_id: DEMO.grid, name: '压测卡口', kind: 'checkpoint' } });
  assert.equal(v.status, 201, v.text);
  const persons = (await srv.api('GET', `/api/v1/persons?limit=${PERSONS}`, { token: command })).json.items.map((p) => p.id);
  const now = Math.floor(Date.now() / 1000);
  // The index person stayed at the checkpoint the whole last hour and a half.
  const index = persons[0];
  const first = await srv.api('POST', '/api/v1/scans', { token: command,
    body: { venue_code: v.json.code, person_id: index, t_in: now - 90 * 60, t_out: now } });
  assert.equal(first.status, 201, first.text);

  // Everyone else passes once, each at another minute of that hour, many at a time.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
  const acked = new Set();
  let answered = 0;
  const sends = persons.slice(1).map((p, i) => {
    const t = now - 80 * 60 + (i % 75) * 60;
    return postScan(srv, agent, command, { venue_code: v.json.code, person_id: p, t_in: t, t_out: t + 300 })
      .then((status) => {
        if (status === 201) acked.add(p);
        answered++;
        if (answered === Math.floor(persons.length / 3)) srv.child.kill('SIGKILL');
      });
  });
  await Promise.all(sends);
  agent.destroy();
  assert.ok(acked.size > 0, 'some scans were answered before the crash');
  assert.ok(acked.size < persons.length - 1, `the crash came while scans were in flight (${acked.size} answered)`);

  // The server starts again on the same data and finds each answered scan once.
  srv = await startServer({}, data);
  try {
    const cmd = await srv.login('command');
    const c = await srv.api('POST', '/api/v1/cases', { token: cmd, body: { person_id: index, onset_at: now, preset: 'twenty' } });
    assert.equal(c.status, 201, c.text);
    const t = await srv.api('POST', `/api/v1/cases/${c.json.id}/trace`, { token: cmd });
    assert.equal(t.status, 200, t.text);
    const close = await srv.api('GET', `/api/v1/cases/${c.json.id}/contacts?kind=close&limit=1000`, { token: cmd });
    const found = new Set(close.json.items.map((x) => x.person_id));
    const lost = [...acked].filter((p) => !found.has(p));
    assert.deepEqual(lost, [], 'every scan answered 201 survived the crash');
    // Exactly once: the venue holds one record per person found, and the index's own.
    const count = await srv.api('GET', `/api/v1/venues/${v.json.id}/scans?days=1`, { token: cmd });
    assert.equal(count.json.scans, found.size + 1, 'no scan stored twice');
    // And the store keeps taking scans.
    const after = await srv.api('POST', '/api/v1/scans', { token: cmd,
      body: { venue_code: v.json.code, person_id: persons[1], t_in: now - 60, t_out: now } });
    assert.equal(after.status, 201, after.text);
  } finally {
    await srv.stop();
  }
});

// What the control lists' API tests share (not a test file itself): valid
// ID numbers and phones, the county's local days, people and places.
'use strict';
const assert = require('node:assert/strict');

const OFFSET = 8 * 3600;   // Asia/Shanghai, the default setting

// A valid 18-digit ID number (GB 11643) of the demo county, born 1980–1999.
function idNumber(seq) {
  const birth = `${1980 + (seq % 20)}${String(1 + (seq % 12)).padStart(2, '0')}${String(1 + (seq % 28)).padStart(2, '0')}`;
  const body = `320923${birth}${String(seq % 1000).padStart(3, '0')}`;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((s, c, i) => s + Number(c) * w[i], 0);
  return body + '10X98765432'[sum % 11];
}

const phone = (seq) => `139${String(10000000 + seq).slice(-8)}`;

const now = () => Math.floor(Date.now() / 1000);
// The local day "YYYY-MM-DD" that many days from today.
const day = (offset = 0, t = now()) => new Date((t + OFFSET + offset * 86400) * 1000).toISOString().slice(0, 10);
// Unix seconds of a local day's hour.
const at = (date, hour = 9) => Date.parse(`${date}T00:00:00+08:00`) / 1000 + hour * 3600;

async function person(srv, token, grid, name, extra = {}) {
  const r = await srv.api('POST', '/api/v1/persons', { token, body: { grid_id: grid, name, ...extra } });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}

async function control(srv, token, body, status = 201) {
  const r = await srv.api('POST', '/api/v1/controls', { token, body });
  assert.equal(r.status, status, r.text);
  return r.json;
}

async function node(srv, token, parent, kind, name) {
  const r = await srv.api('POST', '/api/v1/grids', { token, body: { parent_id: parent, kind, name } });
  assert.equal(r.status, 201, r.text);
  return r.json.id;
}

async function user(srv, token, username, role, scope) {
  const r = await srv.api('POST', '/api/v1/users', { token, body: { username, password: 'control-test-2026', role, scope_node_id: scope } });
  assert.equal(r.status, 201, r.text);
  return { id: r.json.id, token: await srv.login(username, 'control-test-2026') };
}

// A roll-up from the counters equals the same roll-up counted from the tables.
async function rollupsAgree(srv, token, nodeId, date) {
  const q = `/api/v1/controls/rollup?node=${nodeId}&date=${date}`;
  const a = await srv.api('GET', q, { token });
  const b = await srv.api('GET', `${q}&source=tables`, { token });
  assert.equal(a.status, 200, a.text);
  assert.equal(b.status, 200, b.text);
  const strip = (x) => ({ controls: x.controls, checks: x.checks, nat: x.nat, alerts: x.alerts });
  assert.deepEqual(strip(a.json), strip(b.json), `roll-up of node ${nodeId} on ${date}: counters vs tables`);
  return a.json;
}

module.exports = { idNumber, phone, now, day, at, person, control, node, user, rollupsAgree, OFFSET };

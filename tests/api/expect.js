// Assertions shared by the API tests (not a test file itself).
'use strict';
const assert = require('node:assert/strict');
const { DEMO } = require('./helpers');

const CJK = /[\u4e00-\u9fff]/;

// Checks an error answer: status, error.code, error.field (when given; pass
// null to require that no field is named), and both messages (message in
// Chinese; message_en present; its wording is checked in bad_input.test.js).
function expectError(r, status, code, field, what = '') {
  const label = `${what} → ${r.status} ${r.text}`;
  assert.equal(r.status, status, label);
  assert.ok(r.json && r.json.error, `error envelope expected: ${label}`);
  const e = r.json.error;
  assert.equal(e.code, code, label);
  assert.equal(typeof e.message, 'string', label);
  assert.match(e.message, CJK, `message should be in Chinese: ${label}`);
  assert.equal(typeof e.message_en, 'string', label);
  assert.ok(e.message_en.length > 0, label);
  if (field === null) assert.equal(e.field, undefined, label);
  else if (field !== undefined) assert.equal(e.field, field, label);
  return e;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Retries fn until it returns a truthy value or the time is up.
async function poll(fn, ms = 2000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > until) return v;
    await sleep(10);
  }
}

// Places of the demo county beyond the fixed DEMO ids, looked up by shape
// (their ids depend on the reference data).
async function demoPlaces(srv, token) {
  const kids = async (id) => {
    const r = await srv.api('GET', `/api/v1/grids/${id}/children`, { token });
    assert.equal(r.status, 200, r.text);
    return r.json.items;
  };
  const grids = (await kids(DEMO.community)).filter((i) => i.kind === 'grid' && i.id !== DEMO.grid);
  const communities = (await kids(DEMO.street)).filter((i) => i.kind === 'community' && i.id !== DEMO.community);
  // Preferably one whose path shares the text prefix of /1/2/3/ (such as /1/2/39/).
  const near = communities.find((c) => String(c.id).startsWith(String(DEMO.community))) || communities[0];
  const nearGrid = (await kids(near.id)).find((i) => i.kind === 'grid');
  const top = await srv.api('GET', `/api/v1/grids?parent_id=${DEMO.county}&limit=1000`, { token });
  const other = top.json.items.find((i) => i.id !== DEMO.street);
  const og = await srv.api('GET', `/api/v1/grids?grid=${other.id}&kind=grid&limit=1`, { token });
  assert.ok(grids.length >= 2 && communities.length >= 4 && nearGrid && og.json.items.length === 1, 'demo county shape');
  return {
    siblingGrid: grids[0].id, grids: grids.map((g) => g.id),
    communities: communities.map((c) => c.id), nearCommunity: near.id, nearCommunityGrid: nearGrid.id,
    otherStreet: other.id, otherStreetName: other.name, otherStreetGrid: og.json.items[0].id,
  };
}

// RFC 6238: the 6-digit code of a base32 secret at a time (Unix seconds),
// as an authenticator app shows it.
function totpCode(secret, at = Date.now() / 1000) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secret.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 30)));
  const h = require('node:crypto').createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

module.exports = { expectError, sleep, poll, demoPlaces, totpCode, CJK };

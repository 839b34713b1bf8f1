// Assertions shared by the API tests (not a test file itself).
'use strict';
const assert = require('node:assert/strict');

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

module.exports = { expectError, sleep, poll, CJK };

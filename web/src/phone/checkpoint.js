// 卡口登记's small parts: what a scanned or typed code names, a phone number
// as the list shows it, and what the page keeps on the phone (the post, and
// the last scans made here: time, masked number, answer; never a whole number).
import { personCode } from './scan/code.js';

const PERSON = /^WG-PERSON:([1-9][0-9]{0,11})$/;
const ID_NUMBER = /^[1-9][0-9]{16}[0-9X]$/;

/**
 * What a code names, as POST /scans takes it: { person_id } for a person
 * code or a person id, { id_number } for an ID number (to be looked up), or
 * null. typed: only what cannot be a phone number (a person code or an ID
 * number; a person id alone is all digits, like a phone number).
 */
export function scanSubject(text, { typed = false } = {}) {
  const s = String(text || '').trim();
  if (typed && !PERSON.test(s) && !ID_NUMBER.test(s.toUpperCase())) return null;
  const code = personCode(s);
  if (!code) return null;
  if (ID_NUMBER.test(code)) return { id_number: code };
  const m = PERSON.exec(code);
  return { person_id: Number(m ? m[1] : code) };
}

/** The digits of a phone number as people type it (spaces, dashes, full-width digits). */
export function phoneDigits(text) {
  return String(text || '').replace(/[０-９]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xfee0)).replace(/\D/g, '');
}

/**
 * 138****5678: enough to tell the people of the last hour apart, not a
 * number to call. A number that is not 11 digits is no one's: shown as
 * typed, so the mistake can be seen.
 */
export function maskPhone(text) {
  const d = phoneDigits(text);
  return d.length === 11 ? `${d.slice(0, 3)}****${d.slice(-4)}` : String(text || '').trim();
}

const POST = 'wg.m.checkpointPost';
const SCANS = 'wg.m.checkpointScans';

function read(key, user) {
  try {
    const v = JSON.parse(localStorage.getItem(key) || 'null');
    return v && v.user === user ? v.value : null;
  } catch { return null; }
}
function write(key, user, value) {
  try {
    localStorage.setItem(key, JSON.stringify({ user, value }));
  } catch { /* storage full or refused: kept while the page is open */ }
}

/** The post this account last worked at on this phone: { id, name, code } or null. */
export function keptPost(user) {
  const p = read(POST, user);
  return p && Number.isInteger(p.id) && typeof p.code === 'string' ? { id: p.id, name: String(p.name || ''), code: p.code } : null;
}
export function keepPost(user, post) { write(POST, user, { id: post.id, name: post.name, code: post.code }); }

/** The scans made on this phone by this account, newest first. */
export function keptScans(user) {
  const list = read(SCANS, user);
  return Array.isArray(list) ? list.filter((s) => s && typeof s.key === 'string') : [];
}
export function keepScans(user, list) {
  write(SCANS, user, list.map(({ key, post, who, state, taken, created, at, duplicate, error, dropped }) => ({ key, post, who, state, taken, created, at, duplicate, error, dropped })));
}

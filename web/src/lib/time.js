// Times: the API speaks Unix seconds; people read and type local wall time
// in the zone the server is set to (GET /me time_zone, Asia/Shanghai unless
// wangge.conf says otherwise), whatever the browser's own zone.
export const DEFAULT_ZONE = 'Asia/Shanghai';
let zone = DEFAULT_ZONE;

/** True when this browser knows the zone by that name. */
function known(tz) {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** Sets the display zone (from GET /me); an unknown or missing name keeps Asia/Shanghai. */
export function setTimeZone(tz) {
  zone = typeof tz === 'string' && tz && known(tz) ? tz : DEFAULT_ZONE;
}

export function timeZone() { return zone; }

const formats = new Map();
function parts(sec, tz) {
  let f = formats.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
    });
    formats.set(tz, f);
  }
  const o = {};
  for (const p of f.formatToParts(new Date(sec * 1000))) o[p.type] = p.value;
  return o;
}

/** 'YYYY-MM-DD HH:mm:ss' wall time of sec in the zone. */
export function toWall(sec, tz = timeZone()) {
  const o = parts(sec, tz);
  return `${o.year}-${o.month}-${o.day} ${o.hour}:${o.minute}:${o.second}`;
}

/** What people read: 'YYYY-MM-DD HH:mm' (seconds: true adds them). */
export function fmtTime(sec, { seconds = false, tz = timeZone() } = {}) {
  if (sec === null || sec === undefined || sec === '') return '';
  const w = toWall(Number(sec), tz);
  return seconds ? w : w.slice(0, 16);
}

export function fmtClock(sec, tz = timeZone()) {
  return toWall(Number(sec), tz).slice(11, 16);
}

function offsetAt(sec, tz) {
  const o = parts(sec, tz);
  const asUtc = Date.UTC(+o.year, +o.month - 1, +o.day, +o.hour, +o.minute, +o.second) / 1000;
  return asUtc - sec;
}

/** Unix seconds of a wall time typed in the zone ('YYYY-MM-DD HH:mm[:ss]'). */
export function fromWall(text, tz = timeZone()) {
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(String(text).trim());
  if (!m) return null;
  const guess = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0)) / 1000;
  let t = guess - offsetAt(guess, tz);
  t = guess - offsetAt(t, tz);
  return t;
}

/**
 * What people read from one of the API's local twins ('2026-12-06T08:10:00+08:00',
 * the time as the server wrote it in the county's zone): '2026-12-06 08:10'.
 */
export function fmtIso(text, { seconds = false } = {}) {
  if (!text) return '';
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(:\d{2})?/.exec(String(text));
  if (!m) return String(text);
  return `${m[1]} ${m[2]}${seconds && m[3] ? m[3] : ''}`;
}

/** Today in the zone: 'YYYY-MM-DD'. */
export function todayText(tz = timeZone()) {
  return toWall(Date.now() / 1000, tz).slice(0, 10);
}

/** Marks the moment a first page is usable (the browser tests read it). */
export function markUsable() {
  if (typeof performance !== 'undefined' && performance.getEntriesByName('wg-usable').length === 0) performance.mark('wg-usable');
}

// The control lists' words, in the API's order (labels come from i18n), and
// small helpers the desktop and phone pages share.
export const CATEGORIES = ['close', 'secondary', 'spatiotemporal', 'high_risk_area', 'overseas', 'pushed', 'self_found'];
export const MODES = ['central', 'home_isolation', 'home_monitoring'];
export const STATUSES = ['active', 'released', 'transferred', 'closed'];
export const ALERT_KINDS = ['fever', 'symptom', 'positive', 'door'];
export const ALERT_STATUSES = ['open', 'handled', 'closed'];

/** Element Plus / Vant tag colour of a category. */
export function categoryType(c) {
  if (c === 'close' || c === 'high_risk_area') return 'danger';
  if (c === 'secondary' || c === 'overseas') return 'warning';
  return 'primary';
}

export function statusType(s) {
  return { active: 'danger', released: 'success', transferred: 'info', closed: 'info', open: 'danger', handled: 'warning' }[s] || 'info';
}

/** A name as the server masks it for roles without PERSON_READ: the family name, then one * per character. */
export function maskName(name) {
  const chars = [...String(name || '')];
  if (chars.length < 2) return chars.join('');
  return chars[0] + '*'.repeat(chars.length - 1);
}

const dayNo = (d) => Date.UTC(+d.slice(0, 4), +d.slice(5, 7) - 1, +d.slice(8, 10)) / 86400000;

/** How many days a record runs (start to planned end, both counted). */
export function totalDays(rec) {
  if (!rec || !rec.start_date || !rec.end_date) return null;
  return dayNo(rec.end_date) - dayNo(rec.start_date) + 1;
}

/** 'YYYY-MM-DD' plus n days. */
export function addDays(date, n) {
  const d = new Date((dayNo(date) + n) * 86400000);
  return d.toISOString().slice(0, 10);
}

/** A symptom's label: the i18n one when known, else the preset's Chinese. */
export function symptomLabel(t, te, s) {
  const code = typeof s === 'string' ? s : s.code;
  if (te('symptom.' + code)) return t('symptom.' + code);
  return typeof s === 'string' ? s : s.zh || s.code;
}

/**
 * An alert's detail as the server writes it, 'zh / en' ("体温 38.1℃ / temperature 38.1 °C"):
 * the part in the reader's language, the degree sign written as on the rest of the pages.
 */
export function alertDetail(detail, locale) {
  const text = String(detail || '');
  const parts = text.split(' / ');
  const one = parts.length === 2 ? parts[locale === 'en' ? 1 : 0] : text;
  return one.replace(/\s*℃/g, ' °C');
}

/** A preset category's phases as the days of the whole record: total days and every NAT day (chain day numbers). */
export function ruleDays(cat) {
  let offset = 0;
  const nat = [];
  for (const p of (cat && cat.phases) || []) {
    for (const d of p.nat_days || []) nat.push(offset + d);
    offset += p.days;
  }
  return { total: offset, nat };
}

/** Day numbers typed by a person ("1, 2、3 5") → [1, 2, 3, 5]; what is not a whole number is kept as text for the server to name. */
export function parseDays(text) {
  const parts = String(text || '').split(/[\s,,、;;]+/).filter(Boolean);
  return parts.map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

export const CONSENT_METHODS = ['qr', 'paper', 'verbal', 'app'];
export const DEVICE_KINDS = ['door_sensor', 'doorbell'];

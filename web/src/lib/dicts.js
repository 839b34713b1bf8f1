// The value lists the records accept (GET /dictionaries), read once and kept
// for the pickers: a list declared extensible (person and household tags,
// kinds of venue) holds the county's own values beside the built-in ones.
// 字典管理 reads it again after each change. Without an answer (offline, an
// error) a picker offers the fixed list it was given.
import { reactive } from 'vue';
import { get } from './api.js';
import { i18n } from '../i18n/index.js';

const cache = reactive({ items: null });
let pending = null;

// Lists whose built-in values have their names in the page's messages (English too).
const I18N_KEYS = { 'venues.kind': 'venueKind' };

async function fetchDicts() {
  const r = await get('/dictionaries');
  cache.items = r.items;
  return r.items;
}

/** Reads the lists again (after 字典管理 changed one); rejects with the API's error. */
export function refreshDicts() {
  pending = fetchDicts();
  pending.catch(() => { pending = null; });
  return pending;
}

/** The lists, read once; null when they could not be read (tried again next time). */
export function loadDicts() {
  if (!pending) refreshDicts();
  return pending.catch(() => null);
}

function listOf(resource, field) {
  return cache.items ? cache.items.find((d) => d.resource === resource && d.field === field) || null : null;
}

/** A value's name as the page shows it, in the page's language. */
export function valueLabel(resource, field, value) {
  const g = i18n.global;
  const v = listOf(resource, field)?.values.find((x) => x.value === value);
  const key = I18N_KEYS[`${resource}.${field}`];
  if ((!v || v.builtin) && key && g.te(`${key}.${value}`)) return g.t(`${key}.${value}`);
  if (!v) return value;
  return g.locale.value === 'en' && v.label_en ? v.label_en : v.label;
}

/**
 * The choices a picker offers: the list's enabled values (built-in and added),
 * or fallback when the list could not be read; then each value in held (what
 * the record holds) that is not among them, marked off (disabled since).
 * Each choice: {value, label, off}.
 */
export function dictChoices(resource, field, fallback = [], held = []) {
  const list = listOf(resource, field);
  const values = list ? list.values.filter((v) => v.enabled).map((v) => v.value) : [...fallback];
  const out = values.map((value) => ({ value, label: valueLabel(resource, field, value), off: false }));
  for (const value of held || []) {
    if (value !== null && value !== undefined && value !== '' && !values.includes(value)) {
      out.push({ value, label: valueLabel(resource, field, value), off: true });
    }
  }
  return out;
}

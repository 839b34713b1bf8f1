import { createI18n } from 'vue-i18n';
import zh from './zh-CN.js';

export function savedLocale() {
  try { return localStorage.getItem('wg.lang') === 'en' ? 'en' : 'zh-CN'; } catch { return 'zh-CN'; }
}

export const i18n = createI18n({
  legacy: false,
  locale: savedLocale(),
  fallbackLocale: 'zh-CN',
  // English is loaded when chosen: most people never need it on their first page.
  messages: { 'zh-CN': zh },
  missingWarn: false,
  fallbackWarn: false,
});

/** Loads a locale's messages (English comes as its own small chunk). */
export async function loadLocale(l) {
  if (l === 'en' && !i18n.global.availableLocales.includes('en')) {
    i18n.global.setLocaleMessage('en', (await import('./en.js')).default);
  }
}

export async function setLocale(l) {
  await loadLocale(l);
  i18n.global.locale.value = l;
  try { localStorage.setItem('wg.lang', l); } catch { /* private mode */ }
  document.documentElement.lang = l === 'en' ? 'en' : 'zh-CN';
}
document.documentElement.lang = savedLocale() === 'en' ? 'en' : 'zh-CN';

/** An API error as people read it: Chinese first with the English beside (or the other way round). */
export function errorText(e) {
  if (!e) return '';
  const zhText = e.message || '';
  const enText = e.message_en || '';
  if (!enText || enText === zhText) return zhText;
  return i18n.global.locale.value === 'en' ? `${enText} (${zhText})` : `${zhText} / ${enText}`;
}

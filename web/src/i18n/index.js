import { createI18n } from 'vue-i18n';
import zh from './zh-CN.js';
import en from './en.js';

export function savedLocale() {
  try { return localStorage.getItem('wg.lang') === 'en' ? 'en' : 'zh-CN'; } catch { return 'zh-CN'; }
}

export const i18n = createI18n({
  legacy: false,
  locale: savedLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zh, en },
  missingWarn: false,
  fallbackWarn: false,
});

export function setLocale(l) {
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

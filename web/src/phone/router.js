import { createRouter, createWebHistory } from 'vue-router';
import { session, loadMe } from '../lib/session.js';
import { onUnauthorized } from '../lib/api.js';
import { flush } from './outbox.js';
import TasksPage from './pages/TasksPage.vue';

const routes = [
  { path: '/m/login', component: () => import('./pages/LoginPage.vue'), meta: { public: true } },
  { path: '/m', redirect: '/m/' },
  { path: '/m/', component: TasksPage },
  { path: '/m/registry', component: () => import('./pages/RegistryPage.vue') },
  { path: '/m/person/:id', component: () => import('./pages/PersonPage.vue') },
  { path: '/m/me', component: () => import('./pages/MePage.vue') },
  { path: '/m/:rest(.*)*', redirect: '/m/' },
];

export const router = createRouter({ history: createWebHistory(), routes });

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  if (!session.me) {
    try { await loadMe(); } catch { /* offline: the page says so */ }
    if (session.me) flush();
  }
  if (!session.me && navigator.onLine) return { path: '/m/login', query: { next: to.fullPath } };
  // Two factors to set up before anything else: the (desktop) set-up page, usable on a phone.
  if (session.me && session.me.totp_enrollment_required) {
    location.assign('/account/totp');
    return false;
  }
  return true;
});

onUnauthorized(() => {
  const was = session.me;
  session.me = null;
  const cur = router.currentRoute.value;
  if (!cur.meta.public) router.replace({ path: '/m/login', query: { ...(was ? { expired: '1' } : {}), next: cur.fullPath } });
});

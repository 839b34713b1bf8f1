import { createRouter, createWebHistory } from 'vue-router';
import { session, loadMe, can } from '../lib/session.js';
import { onUnauthorized } from '../lib/api.js';
import { setTimeZone } from '../lib/time.js';
import { flush, keepAccount, keptAccount, forgetAccount } from './outbox.js';
import TasksPage from './pages/TasksPage.vue';

const routes = [
  { path: '/m/login', component: () => import('./pages/LoginPage.vue'), meta: { public: true } },
  { path: '/m', redirect: '/m/' },
  { path: '/m/', component: TasksPage },
  { path: '/m/registry', component: () => import('./pages/RegistryPage.vue') },
  { path: '/m/person/:id', component: () => import('./pages/PersonPage.vue') },
  { path: '/m/me', component: () => import('./pages/MePage.vue') },
  // The control lists' pages load when first opened (the first page stays small).
  { path: '/m/today', component: () => import('./pages/TodayPage.vue') },
  { path: '/m/alerts', component: () => import('./pages/AlertsPage.vue') },
  { path: '/m/nat', component: () => import('./pages/NatPage.vue') },
  { path: '/m/nat/:id', component: () => import('./pages/NatPage.vue') },
  // 卡口登记: the checkpoint duty's page (SCAN_WRITE).
  { path: '/m/checkpoint', component: () => import('./pages/CheckpointPage.vue') },
  { path: '/m/:rest(.*)*', redirect: '/m/' },
];

// A new page opens at its top; back and forward return to where the person was.
export const router = createRouter({ history: createWebHistory(), routes, scrollBehavior: (to, from, saved) => saved || (to.path === from.path ? false : { top: 0 }) });

// Opened without a network (the service worker showed the page): the
// account last signed in on this phone, kept in IndexedDB, until /me answers.
export const offlineSession = { kept: false };
// How long a page waits for /me before opening with the kept account.
const ME_WAIT_MS = 2000;
let keptMe = null;
async function openKept() {
  const a = await keptAccount();
  if (!a) return;
  session.me = a;
  session.scopeName = a.scope_name || a.scope_path;
  setTimeZone(a.time_zone);
  offlineSession.kept = true;
}
// /me answered after all: the kept account gives way to the server's.
function answered(me) {
  offlineSession.kept = false;
  keptMe = me;
  keepAccount(me);
  flush();
}
// Back online: who is signed in is asked again (a session that ended meanwhile goes to sign-in).
window.addEventListener('online', () => {
  if (!offlineSession.kept) return;
  loadMe().then((me) => { if (me) answered(me); }, () => {});
});

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  if (!session.me) {
    let offline = false;
    const asked = loadMe().then(() => 'answered', (e) => { offline = e.status === 0; return 'failed'; });
    // A connection that neither answers nor fails: the phone opens with the kept account meanwhile.
    const slow = new Promise((resolve) => { setTimeout(() => resolve('slow'), ME_WAIT_MS); });
    let first = await Promise.race([asked, slow]);
    if (first === 'slow' && !(await keptAccount())) first = await asked;
    if (session.me) flush();
    else if (offline || first === 'slow') await openKept();
    if (first === 'slow') asked.then(() => { if (session.me && session.me !== keptMe && offlineSession.kept) answered(session.me); });
  }
  // Signed in (here, or on the sign-in page): kept for opening the app offline.
  if (session.me && !offlineSession.kept && session.me !== keptMe) {
    keptMe = session.me;
    keepAccount(session.me);
  }
  if (!session.me && navigator.onLine) return { path: '/m/login', query: { next: to.fullPath } };
  // Two factors to set up before anything else: the (desktop) set-up page, usable on a phone.
  if (session.me && session.me.totp_enrollment_required) {
    location.assign('/account/totp');
    return false;
  }
  // Someone who may not read the registry (a volunteer) starts at the work they may do.
  if (to.path === '/m/' && session.me && !can('PERSON_READ')) {
    if (can('SCAN_WRITE')) return '/m/checkpoint';
    if (can('CONTROL_READ')) return '/m/today';
    if (can('NAT_SAMPLE')) return '/m/nat';
  }
  return true;
});

onUnauthorized(() => {
  const was = session.me;
  session.me = null;
  offlineSession.kept = false;
  forgetAccount();
  const cur = router.currentRoute.value;
  if (!cur.meta.public) router.replace({ path: '/m/login', query: { ...(was ? { expired: '1' } : {}), next: cur.fullPath } });
});

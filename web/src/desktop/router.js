import { createRouter, createWebHistory } from 'vue-router';
import { ElMessage } from 'element-plus/es/components/message/index.mjs';
import { session, loadMe, can, mustEnroll } from '../lib/session.js';
import { onUnauthorized } from '../lib/api.js';
import { i18n } from '../i18n/index.js';
import { menu } from './menu.js';
import Layout from './Layout.vue';
import LoginPage from './pages/LoginPage.vue';

const routes = [
  { path: '/login', component: LoginPage, meta: { public: true } },
  {
    path: '/',
    component: Layout,
    children: [
      { path: '', name: 'home', component: { render: () => null } },
      { path: 'dashboard', component: () => import('./pages/DashboardPage.vue'), meta: { rights: ['GRID_READ', 'PERSON_READ'] } },
      { path: 'grid', component: () => import('./pages/GridPage.vue'), meta: { rights: ['GRID_READ'] } },
      { path: 'import', component: () => import('./pages/ImportPage.vue'), meta: { any: ['GRID_WRITE', 'PERSON_WRITE'] } },
      { path: 'tracing/venues', component: () => import('./pages/VenuesPage.vue'), meta: { rights: ['GRID_READ'] } },
      { path: 'tracing/venues/:id/poster', component: () => import('./pages/PosterPage.vue'), meta: { rights: ['GRID_READ'] } },
      { path: 'tracing/cases', component: () => import('./pages/CasesPage.vue'), meta: { rights: ['TRACE_RUN'] } },
      { path: 'tracing/cases/:id', component: () => import('./pages/CaseDetailPage.vue'), meta: { rights: ['TRACE_RUN'] } },
      { path: 'tracing/unlocated', component: () => import('./pages/UnlocatedPage.vue'), meta: { rights: ['PERSON_READ'] } },
      { path: 'tracing/contacts', component: () => import('./pages/ContactsPage.vue'), meta: { rights: ['PERSON_READ'] } },
      { path: 'controls', component: () => import('./pages/ControlsPage.vue'), meta: { rights: ['CONTROL_READ'] } },
      { path: 'controls/:id(\\d+)', component: () => import('./pages/ControlDetailPage.vue'), meta: { rights: ['CONTROL_READ'] } },
      { path: 'controls/import', component: () => import('./pages/ImportPage.vue'), props: { kind: 'controls' }, meta: { rights: ['CONTROL_WRITE'] } },
      { path: 'controls/alerts', component: () => import('./pages/AlertsPage.vue'), meta: { rights: ['CONTROL_READ'] } },
      { path: 'controls/checks', component: () => import('./pages/ChecksPage.vue'), meta: { rights: ['CONTROL_READ'] } },
      { path: 'controls/rollup', component: () => import('./pages/RollupPage.vue'), meta: { rights: ['CONTROL_READ'] } },
      { path: 'controls/sites', component: () => import('./pages/SitesPage.vue'), meta: { rights: ['SITE_READ'] } },
      { path: 'controls/sites/:id(\\d+)', component: () => import('./pages/SiteDetailPage.vue'), meta: { rights: ['SITE_READ'] } },
      { path: 'controls/nat', component: () => import('./pages/NatRoundsPage.vue'), meta: { rights: ['NAT_READ'] } },
      { path: 'controls/nat/:id(\\d+)', component: () => import('./pages/NatRoundPage.vue'), meta: { rights: ['NAT_READ'] } },
      { path: 'controls/presets', component: () => import('./pages/PresetsPage.vue'), meta: { rights: ['CONTROL_READ'] } },
      { path: 'controls/presets/:id(\\d+)', component: () => import('./pages/ConfigPage.vue'), props: { kind: 'presets' }, meta: { rights: ['CONTROL_READ'] } },
      { path: 'controls/team-shapes/:id(\\d+)', component: () => import('./pages/ConfigPage.vue'), props: { kind: 'team-shapes' }, meta: { rights: ['CONTROL_READ'] } },
      { path: 'controls/settings', component: () => import('./pages/ControlSettingsPage.vue'), meta: { rights: ['CONTROL_READ'] } },
      { path: 'controls/devices', component: () => import('./pages/DevicesPage.vue'), meta: { rights: ['CONTROL_READ'] } },
      { path: 'audit', component: () => import('./pages/AuditPage.vue'), meta: { rights: ['AUDIT_READ'] } },
      { path: 'admin/users', component: () => import('./pages/UsersPage.vue'), meta: { rights: ['USER_READ'] } },
      { path: 'admin/roles', component: () => import('./pages/RolesPage.vue'), meta: {} },
      { path: 'admin/depts', component: () => import('./pages/DeptsPage.vue'), meta: { rights: ['GRID_READ'] } },
      // The menu offers these to the administrator; the server decides who reads them (the lists: anyone signed in;
      // the parameters: SYSTEM, and its refusal is what the page shows to anyone else).
      { path: 'admin/dicts', component: () => import('./pages/DictsPage.vue'), meta: {} },
      { path: 'admin/params', component: () => import('./pages/ParamsPage.vue'), meta: {} },
      { path: 'monitor/sessions', component: () => import('./pages/SessionsPage.vue'), meta: { rights: ['SYSTEM'] } },
      { path: 'monitor/logins', component: () => import('./pages/LoginsPage.vue'), meta: { rights: ['SYSTEM'] } },
      { path: 'account', component: () => import('./pages/AccountPage.vue'), meta: {} },
      { path: 'account/totp', name: 'totp', component: () => import('./pages/TotpPage.vue'), meta: {} },
      { path: ':rest(.*)*', component: () => import('./pages/NotFoundPage.vue') },
    ],
  },
];

// A new page opens at its top; back and forward return to where the person was.
export const router = createRouter({ history: createWebHistory(), routes, scrollBehavior: (to, from, saved) => saved || (to.path === from.path ? false : { top: 0 }) });

function allowed(meta) {
  if (meta.rights && !can(...meta.rights)) return false;
  if (meta.any && !meta.any.some((r) => can(r))) return false;
  return true;
}

/** The first page of the menu this user may open. */
export function homePath() {
  for (const item of menu) {
    for (const leaf of item.children || [item]) {
      if (allowed(leaf)) return leaf.path;
    }
  }
  return '/admin/roles';
}

router.beforeEach(async (to) => {
  if (to.meta.public) return true;
  if (!session.me) {
    try { await loadMe(); } catch { /* shown by the page */ }
  }
  if (!session.me) return { path: '/login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} };
  // A role that must sign in with two factors and has none set up: the set-up page first, nothing else.
  if (mustEnroll() && to.name !== 'totp') return { name: 'totp' };
  if (to.name === 'home') return homePath();
  if (!allowed(to.meta)) {
    ElMessage.error(i18n.global.t('err.forbidden'));
    return homePath();
  }
  return true;
});

// A 401 anywhere: the session ended (expired, signed out elsewhere, password changed).
onUnauthorized(() => {
  const was = session.me;
  session.me = null;
  session.scopeName = '';
  const cur = router.currentRoute.value;
  if (cur.meta.public) return;
  router.replace({ path: '/login', query: { ...(was ? { expired: '1' } : {}), next: cur.fullPath } });
});

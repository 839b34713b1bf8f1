// The left menu: each leaf names the rights its page needs (GET /me gives the user's).
import { markRaw } from 'vue';
import { DataAnalysis, Location, Upload, Aim, Document, Setting, FirstAidKit, Monitor, User } from '@element-plus/icons-vue';

export const menu = [
  { path: '/dashboard', label: 'menu.dashboard', icon: markRaw(DataAnalysis), rights: ['GRID_READ', 'PERSON_READ'] },
  { path: '/grid', label: 'menu.grid', icon: markRaw(Location), rights: ['GRID_READ'] },
  { path: '/import', label: 'menu.import', icon: markRaw(Upload), any: ['GRID_WRITE', 'PERSON_WRITE'] },
  {
    key: 'tracing', label: 'menu.tracing', icon: markRaw(Aim), children: [
      { path: '/tracing/venues', label: 'menu.venues', rights: ['GRID_READ'] },
      { path: '/tracing/cases', label: 'menu.cases', rights: ['TRACE_RUN'] },
      { path: '/tracing/unlocated', label: 'menu.unlocated', rights: ['PERSON_READ'] },
      { path: '/tracing/contacts', label: 'menu.contacts', rights: ['PERSON_READ'] },
    ],
  },
  {
    key: 'control', label: 'menu.control', icon: markRaw(FirstAidKit), children: [
      { path: '/controls', label: 'menu.controls', rights: ['CONTROL_READ'] },
      { path: '/controls/alerts', label: 'menu.alerts', rights: ['CONTROL_READ'] },
      { path: '/controls/checks', label: 'menu.checks', rights: ['CONTROL_READ'] },
      { path: '/controls/rollup', label: 'menu.rollup', rights: ['CONTROL_READ'] },
      { path: '/controls/import', label: 'menu.controlImport', rights: ['CONTROL_WRITE'] },
      { path: '/controls/sites', label: 'menu.sites', rights: ['SITE_READ'] },
      { path: '/controls/nat', label: 'menu.nat', rights: ['NAT_READ'] },
      { path: '/controls/devices', label: 'devices.menu', rights: ['CONTROL_READ'] },
      { path: '/controls/presets', label: 'presets.menu', rights: ['CONTROL_READ'] },
      { path: '/controls/settings', label: 'controlSettings.menu', rights: ['CONTROL_READ'] },
    ],
  },
  { path: '/audit', label: 'menu.audit', icon: markRaw(Document), rights: ['AUDIT_READ'] },
  {
    key: 'admin', label: 'menu.admin', icon: markRaw(Setting), children: [
      { path: '/admin/users', label: 'menu.users', rights: ['USER_READ'] },
      { path: '/admin/roles', label: 'menu.roles' },
      { path: '/admin/depts', label: 'menu.depts', rights: ['GRID_READ'] },
      { path: '/admin/dicts', label: 'menu.dicts', rights: ['SYSTEM'] },
      { path: '/admin/params', label: 'menu.params', rights: ['SYSTEM'] },
    ],
  },
  {
    key: 'monitor', label: 'monitor.menu', icon: markRaw(Monitor), children: [
      { path: '/monitor/sessions', label: 'sessions.menu', rights: ['SYSTEM'] },
      { path: '/monitor/logins', label: 'logins.menu', rights: ['SYSTEM'] },
    ],
  },
  { path: '/account', label: 'account.menu', icon: markRaw(User) },
];

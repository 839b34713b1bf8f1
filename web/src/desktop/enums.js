// Values the API accepts, in its order; labels come from i18n.
export const KINDS = ['province', 'city', 'county', 'street', 'town', 'community', 'village', 'grid', 'building'];
export const LEVEL = { province: 1, city: 2, county: 3, street: 4, town: 4, community: 5, village: 5, grid: 6, building: 7 };
export const RESIDENCE = ['resident', 'migrant', 'away', 'returned'];
export const GENDER = ['male', 'female'];
// The built-in kinds of venue and tags; the pickers offer the dictionary's enabled values
// (lib/dicts.js, which adds the county's own) and fall back to these when it cannot be read.
export const VENUE_KINDS = ['market', 'restaurant', 'pharmacy', 'school', 'hospital', 'transit', 'office', 'hotel', 'entertainment', 'religious', 'checkpoint', 'other'];
export const PRESETS = ['v9', 'v8', 'twenty'];
export const CONTACT_KINDS = ['close', 'secondary', 'companion'];
export const PERSON_TAGS = ['兜底脱贫对象', '低保对象', '特困老人', '重病重残', '困境儿童', '防控一线医务人员家属', '独居老人', '孕产妇', '慢性病', '残疾人', '退役军人', '党员'];
export const AUDIT_RESOURCES = ['grids', 'users', 'households', 'persons', 'venues', 'cases', 'case_contacts', 'session', 'system'];
export const ROLES = ['admin', 'command', 'community', 'party_admin', 'grid_worker', 'checkpoint', 'commissioner', 'volunteer', 'auditor'];
export const RANK = { admin: 100, command: 80, community: 60, party_admin: 40, grid_worker: 20, checkpoint: 20, commissioner: 20, volunteer: 10, auditor: 10 };

/** Kinds that may hang under a node of this kind (levels may be skipped). */
export function childKinds(kind) {
  const l = LEVEL[kind] || 0;
  return KINDS.filter((k) => LEVEL[k] > l);
}

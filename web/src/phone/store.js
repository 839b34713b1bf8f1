// What the phone has loaded, kept for when the network goes away.
import { reactive } from 'vue';

export const store = reactive({
  persons: {}, households: [], personList: [], contacts: null, contactsTotal: 0, unlocated: null, unlocatedTotal: 0,
  // The control lists: today's worklist, the protocols (symptoms, fever threshold) and the county's default one.
  worklist: null, presets: null, defaultPreset: 'v9', records: {}, alerts: null, samples: [],
});

export function keepPersons(items) {
  for (const p of items) store.persons[p.id] = { ...(store.persons[p.id] || {}), ...p };
}

// The one entry every page loads: it decides by route which app to start,
// so a first page downloads only its own app (the boot script in index.html
// has already started fetching that app's chunks).
const p = location.pathname;
if (p.startsWith('/v/')) import('./door/main.js');
else if (p === '/m' || p.startsWith('/m/')) import('./phone/main.js');
else import('./desktop/main.js');

// The build's entry: it names the three apps so Vite builds each as its own
// chunk tree. In development it starts the app for the route; a built page
// never loads it, the boot script in index.html imports the app's main chunk
// itself (one request less before the page can start).
const p = location.pathname;
if (p.startsWith('/v/')) import('./door/main.js');
else if (p === '/m' || p.startsWith('/m/')) import('./phone/main.js');
else import('./desktop/main.js');

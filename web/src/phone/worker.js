// Registers the service worker (web/public/sw.js) for the phone app's scope
// (/m/): the app then opens without a network. Only in a built app (the
// worker's file list is written at build time), and only once the first
// page is usable, so what the worker keeps does not compete with the
// page's own files and answers on a slow connection.
export function registerWorker(scope = '/m/') {
  if (!import.meta.env.PROD || !('serviceWorker' in navigator) || !window.isSecureContext) return;
  let done = false;
  const go = () => {
    if (done) return;
    done = true;
    navigator.serviceWorker.register('/sw.js', { scope, updateViaCache: 'none' }).catch(() => { /* no offline use, the app works on */ });
  };
  if (performance.getEntriesByName('wg-usable').length) {
    go();
    return;
  }
  if (typeof PerformanceObserver === 'function') {
    const seen = new PerformanceObserver((list) => {
      if (list.getEntriesByName('wg-usable').length) { seen.disconnect(); go(); }
    });
    try { seen.observe({ type: 'mark' }); } catch { /* older browser: the timer below */ }
  }
  // A page that never marks itself usable (the sign-in page) registers a little after loading.
  const later = () => setTimeout(go, 3000);
  if (document.readyState === 'complete') later();
  else window.addEventListener('load', later, { once: true });
}

// Reads a QR code off the camera's picture: the browser's BarcodeDetector
// where it has one that knows QR codes (Android's Chrome, Safari), else the
// jsQR package, loaded only now (≈ 46 KB gzip, never with the first page).
let made = null;

async function native() {
  if (typeof window.BarcodeDetector !== 'function') return null;
  try {
    const formats = await window.BarcodeDetector.getSupportedFormats();
    if (!formats.includes('qr_code')) return null;
    const d = new window.BarcodeDetector({ formats: ['qr_code'] });
    return {
      kind: 'BarcodeDetector',
      async read(video) {
        const found = await d.detect(video);
        return found.length ? found[0].rawValue : null;
      },
    };
  } catch {
    return null;
  }
}

// The picture is read at most MAX pixels wide: enough for a code held at
// arm's length, and fast on a cheap phone.
const MAX = 640;

async function fallback() {
  const { default: jsQR } = await import('jsqr');
  const canvas = document.createElement('canvas');
  const g = canvas.getContext('2d', { willReadFrequently: true });
  return {
    kind: 'jsQR',
    async read(video) {
      const w0 = video.videoWidth;
      const h0 = video.videoHeight;
      if (!w0 || !h0) return null;
      const k = Math.min(1, MAX / w0);
      const w = Math.round(w0 * k);
      const h = Math.round(h0 * k);
      if (canvas.width !== w || canvas.height !== h) Object.assign(canvas, { width: w, height: h });
      g.drawImage(video, 0, 0, w, h);
      const found = jsQR(g.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: 'dontInvert' });
      return found ? found.data : null;
    },
  };
}

/** A decoder: { kind, read(video) → text or null }. */
export function qrDecoder() {
  if (!made) made = native().then((d) => d || fallback());
  made.catch(() => { made = null; });
  return made;
}

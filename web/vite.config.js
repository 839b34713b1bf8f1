import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';
import Components from 'unplugin-vue-components/vite';
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers';
import { VantResolver } from '@vant/auto-import-resolver';

// Components are imported on demand (with their CSS) so each app's chunk
// holds only what its pages use. Everything is bundled: no CDN, no fonts
// or icons fetched at run time.
const vantIcons = fileURLToPath(new URL('./src/phone/vant-icons.css', import.meta.url));

// Vant's icon font (a large data URL with fallback font URLs on a CDN) is
// replaced by the handful of icons the phone app shows.
const ownVantIcons = {
  name: 'wg-vant-icons',
  enforce: 'pre',
  load(id) {
    if (id.replace(/\\/g, '/').endsWith('/vant/es/icon/index.css')) return fs.readFileSync(vantIcons, 'utf8');
    return null;
  },
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  plugins: [
    ownVantIcons,
    vue(),
    Components({
      dirs: [],
      dts: false,
      resolvers: [ElementPlusResolver({ importStyle: 'css' }), VantResolver({ importStyle: true })],
    }),
  ],
  define: {
    __VUE_OPTIONS_API__: 'true',
    __VUE_PROD_DEVTOOLS__: 'false',
    __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    __VUE_I18N_FULL_INSTALL__: 'false',
    __VUE_I18N_LEGACY_API__: 'false',
    __INTLIFY_PROD_DEVTOOLS__: 'false',
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    manifest: true,
    target: 'es2020',
    chunkSizeWarningLimit: 1200,
    reportCompressedSize: false,
    rollupOptions: {
      output: {
        // Vue, the router, i18n and our small libraries: one chunk both apps share.
        manualChunks(id) {
          const p = id.replace(/\\/g, '/');
          if (/\/node_modules\/(@vue|vue|vue-router|vue-i18n|@intlify)\//.test(p) || /\/web\/src\/(i18n\/(index|zh-CN)\.js|lib\/(api|session|time)\.js)/.test(p)) return 'shared';
          return undefined;
        },
      },
    },
  },
  server: { proxy: { '/api': 'http://127.0.0.1:8080' } },
});

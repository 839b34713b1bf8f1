// The desktop app (Element Plus): office pages at 1366×768 and up.
import { createApp } from 'vue';
import 'element-plus/es/components/message/style/css';
import 'element-plus/es/components/message-box/style/css';
import 'element-plus/es/components/loading/style/css';
import { ElLoading } from 'element-plus/es/components/loading/index.mjs';
import './styles.css';
import App from './App.vue';
import { router } from './router.js';
import { i18n, loadLocale, savedLocale } from '../i18n/index.js';

const app = createApp(App);
app.use(i18n);
app.use(router);
app.directive('loading', ElLoading.directive);
loadLocale(savedLocale()).catch(() => {}).finally(() => app.mount('#app'));

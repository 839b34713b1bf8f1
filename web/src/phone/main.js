// The phone app (Vant) for grid workers and community staff at the door.
import { createApp } from 'vue';
import 'vant/es/toast/style';
import 'vant/es/dialog/style';
import './phone.css';
import App from './App.vue';
import { router } from './router.js';
import { i18n, loadLocale, savedLocale } from '../i18n/index.js';
import { startOutbox } from './outbox.js';
import { registerWorker } from './worker.js';

const app = createApp(App);
app.use(i18n);
app.use(router);
loadLocale(savedLocale()).catch(() => {}).finally(() => app.mount('#app'));
startOutbox();
registerWorker('/m/');

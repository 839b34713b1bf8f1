/* Opening the data directory: configuration, keys, store, caches. */
#include "core/app/app.h"
#include "core/lib/err.h"
#include "core/lib/limits.h"
#include "core/lib/mem.h"
#include "core/lib/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void config_defaults(struct wg_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->session_idle_seconds = WG_SESSION_IDLE_SECONDS;
	cfg->session_absolute_seconds = WG_SESSION_ABSOLUTE_SECONDS;
	cfg->login_fails_per_user = WG_LOGIN_FAILS_PER_USER;
	cfg->login_fails_per_address = WG_LOGIN_FAILS_PER_ADDRESS;
	cfg->login_window_seconds = WG_LOGIN_WINDOW_SECONDS;
	cfg->login_lock_seconds = WG_LOGIN_LOCK_SECONDS;
	cfg->threads = WG_DEFAULT_THREADS;
	cfg->import_sort_index_bytes = WG_IMPORT_SORT_INDEX_BYTES;
	cfg->import_chunk_rows = WG_IMPORT_CHUNK_ROWS;
	cfg->public_requests_per_minute = WG_PUBLIC_REQUESTS_PER_MINUTE;
	cfg->password_classes = WG_PASSWORD_CLASSES;
	cfg->audit_checkpoint_seconds = WG_AUDIT_CHECKPOINT_SECONDS;
	cfg->audit_archive_days = WG_AUDIT_ARCHIVE_DAYS;
	snprintf(cfg->static_dir, sizeof cfg->static_dir, "web/dist");
	snprintf(cfg->time_zone, sizeof cfg->time_zone, "Asia/Shanghai");
	snprintf(cfg->totp_roles, sizeof cfg->totp_roles, "admin auditor command");
}

/* Settings that are text: where each is kept and how long it may be. */
#define TEXT_KEY(name) { #name, offsetof(struct wg_config, name), sizeof ((struct wg_config *)0)->name }
static const struct {
	const char *key;
	size_t offset, size;
} text_keys[] = {
	TEXT_KEY(db), TEXT_KEY(trusted_proxy), TEXT_KEY(static_dir), TEXT_KEY(totp_roles),
	TEXT_KEY(metrics_token), TEXT_KEY(origins), TEXT_KEY(tls_cert), TEXT_KEY(tls_key),
};
#undef TEXT_KEY

static const struct {
	const char *key;
	size_t offset;
	int64_t min, max;
} int_keys[] = {
	{ "session_idle_seconds", offsetof(struct wg_config, session_idle_seconds), 1, 30 * 86400 },
	{ "session_absolute_seconds", offsetof(struct wg_config, session_absolute_seconds), 1, 90 * 86400 },
	{ "login_fails_per_user", offsetof(struct wg_config, login_fails_per_user), 1, 1000 },
	{ "login_fails_per_address", offsetof(struct wg_config, login_fails_per_address), 1, 100000 },
	{ "login_window_seconds", offsetof(struct wg_config, login_window_seconds), 1, 86400 },
	{ "login_lock_seconds", offsetof(struct wg_config, login_lock_seconds), 1, 86400 },
	{ "pwhash_ops", offsetof(struct wg_config, pwhash_ops), 0, 64 },
	{ "pwhash_mem", offsetof(struct wg_config, pwhash_mem), 0, 1 << 30 },
	{ "import_sort_index_bytes", offsetof(struct wg_config, import_sort_index_bytes), 1024, INT64_C(1) << 40 },
	{ "import_chunk_rows", offsetof(struct wg_config, import_chunk_rows), 0, WG_IMPORT_CHUNK_MAX_ROWS },
	{ "public_requests_per_minute", offsetof(struct wg_config, public_requests_per_minute), 1, 1000000 },
	{ "password_classes", offsetof(struct wg_config, password_classes), 1, 4 },
	{ "totp_required", offsetof(struct wg_config, totp_required), 0, 1 },
	{ "audit_checkpoint_seconds", offsetof(struct wg_config, audit_checkpoint_seconds), 1, 86400 },
	{ "audit_archive_days", offsetof(struct wg_config, audit_archive_days), 0, 36500 },
};

int config_set(struct wg_config *cfg, const char *key, const char *value, const char *where)
{
	if (strcmp(key, "time_zone") == 0) {
		if (strlen(value) >= sizeof cfg->time_zone || strstr(value, "..") || value[0] == '/')
			return wg_error("%s: time_zone must be a zone name such as Asia/Shanghai / 时区应为 Asia/Shanghai 这样的名称", where);
		snprintf(cfg->time_zone, sizeof cfg->time_zone, "%s", value);
		return 0;
	}
	if (strcmp(key, "public_url") == 0) {
		size_t n = strlen(value);
		if (n >= sizeof cfg->public_url || (strncmp(value, "https://", 8) != 0 && strncmp(value, "http://", 7) != 0) ||
		    strpbrk(value, " \"<>'"))
			return wg_error("%s: public_url must be the address residents open, e.g. https://wg.example.gov.cn / public_url 应为居民打开的网址,例如 https://wg.example.gov.cn", where);
		snprintf(cfg->public_url, sizeof cfg->public_url, "%.*s", (int)(n && value[n - 1] == '/' ? n - 1 : n), value);
		return 0;
	}
	for (size_t i = 0; i < sizeof text_keys / sizeof text_keys[0]; i++) {
		if (strcmp(text_keys[i].key, key) != 0)
			continue;
		if (strlen(value) >= text_keys[i].size)
			return wg_error("%s: %s is longer than %zu bytes / %s 过长", where, key,
					text_keys[i].size - 1, key);
		wg_copy_text((char *)cfg + text_keys[i].offset, text_keys[i].size, value);
		return 0;
	}
	if (strcmp(key, "threads") == 0) {
		uint32_t t;
		if (!wg_parse_u32(value, strlen(value), &t) || t < 1 || t > 64)
			return wg_error("%s: threads must be 1 to 64 / 线程数应为 1 到 64", where);
		cfg->threads = t;
		return 0;
	}
	for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++) {
		if (strcmp(int_keys[i].key, key) != 0)
			continue;
		int64_t v;
		if (!wg_parse_i64(value, strlen(value), &v) || v < int_keys[i].min || v > int_keys[i].max)
			return wg_error("%s: %s must be an integer from %lld to %lld / %s 应为 %lld 到 %lld 的整数",
					where, key, (long long)int_keys[i].min, (long long)int_keys[i].max,
					key, (long long)int_keys[i].min, (long long)int_keys[i].max);
		/* argon2id needs at least 8 KiB; 0 keeps libsodium's interactive default. */
		if (strcmp(key, "pwhash_mem") == 0 && v > 0 && v < 8192)
			return wg_error("%s: pwhash_mem must be 0 or at least 8192 / pwhash_mem 应为 0 或不小于 8192", where);
		*(int64_t *)((char *)cfg + int_keys[i].offset) = v;
		return 0;
	}
	return wg_error("%s: unknown setting '%s' / 未知配置项 %s", where, key, key);
}

bool config_int_bounds(const char *key, int64_t *min, int64_t *max)
{
	for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++)
		if (strcmp(int_keys[i].key, key) == 0) {
			*min = int_keys[i].min;
			*max = int_keys[i].max;
			return true;
		}
	return false;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	char *e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

int config_load(const char *path, struct wg_config *cfg)
{
	char line[2048];
	int n = 0, rc = 0;
	FILE *f = fopen(path, "r");
	config_defaults(cfg);
	if (!f)
		return wg_error("cannot read %s: %s / 无法读取配置文件", path, strerror(errno));
	while (!rc && fgets(line, sizeof line, f)) {
		n++;
		char *s = trim(line);
		if (!*s || *s == '#')
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = wg_error("%s line %d: expected key = value / 应为“键 = 值”", path, n);
			break;
		}
		*eq = '\0';
		char where[1100];
		snprintf(where, sizeof where, "wangge.conf line %d", n);
		rc = config_set(cfg, trim(s), trim(eq + 1), where);
	}
	fclose(f);
	return rc;
}

int config_write(const char *path, const struct wg_config *cfg)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return wg_error("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "# wangge configuration (key = value)\n");
	fprintf(f, "db = %s\n", cfg->db);
	fprintf(f, "static_dir = %s\n", cfg->static_dir);
	fprintf(f, "threads = %u\n", cfg->threads);
	fprintf(f, "time_zone = %s\n", cfg->time_zone);
	fprintf(f, "# trusted_proxy = 127.0.0.1   (behind nginx: take the client address from X-Real-IP, TLS from X-Forwarded-Proto)\n");
	fprintf(f, "# public_url = https://wg.example.gov.cn   (what venue QR codes open: <public_url>/v/<code>)\n");
	fprintf(f, "# origins = https://wangge.example.gov.cn   (the address browsers use, when a proxy changes the Host)\n");
	fprintf(f, "# tls_cert = /etc/wangge/cert.pem   (with tls_key: HTTPS built in)\n");
	fprintf(f, "# tls_key = /etc/wangge/key.pem\n");
	fprintf(f, "# metrics_token = …   (GET /metrics with Authorization: Bearer <token>)\n");
	fprintf(f, "totp_roles = %s\n", cfg->totp_roles);
	for (size_t i = 0; i < sizeof int_keys / sizeof int_keys[0]; i++)
		fprintf(f, "%s = %lld\n", int_keys[i].key, (long long)*(const int64_t *)((const char *)cfg + int_keys[i].offset));
	return fclose(f) == 0 ? 0 : wg_error("cannot write %s", path);
}

/* serve --threads: the workers and the connection pool sized for them. */
static unsigned threads_override;

void app_set_threads(unsigned n)
{
	threads_override = n;
}

/* The key that signs the audit trail's checkpoints and archives
 * (keys/audit_sign.key, an Ed25519 seed). A data directory made before it
 * gets one, unless checkpoints were already signed: then the key is lost,
 * and making a new one would hide it. */
static int audit_sign_key_load(struct wg_app *app)
{
	char path[1200], anchors[1200];
	unsigned char seed[crypto_sign_SEEDBYTES];
	struct stat sb;
	snprintf(path, sizeof path, "%s/keys/audit_sign.key", app->data_dir);
	snprintf(anchors, sizeof anchors, "%s/audit/checkpoints", app->data_dir);
	if (stat(path, &sb) != 0 && errno == ENOENT) {
		if (stat(anchors, &sb) == 0)
			return wg_error("%s is missing but %s exists: restore the key from its backup (a new key could not verify the"
					" checkpoints) / 审计签名密钥缺失", path, anchors), WG_ERR_IO;
		if (key_file_create(path, sizeof seed))
			return WG_ERR_IO;
	}
	int rc = key_file_read(path, seed, sizeof seed);
	if (!rc)
		crypto_sign_seed_keypair(app->audit_sign_pk, app->audit_sign_sk, seed);
	sodium_memzero(seed, sizeof seed);
	return rc;
}

int app_open(const char *data_dir, struct wg_app **out)
{
	char path[1200];
	struct wg_app *app = wg_calloc(1, sizeof *app);
	int rc = WG_ERR_NOMEM;
	if (!app || sodium_init() < 0)
		goto fail;
	app->started_at = time(NULL);
	app->data_dir = wg_strdup(data_dir);
	if (!app->data_dir)
		goto fail;
	snprintf(path, sizeof path, "%s/wangge.conf", data_dir);
	rc = config_load(path, &app->config);
	if (rc)
		goto fail;
	app->file_config = app->config;
	if (threads_override)
		app->config.threads = threads_override;
	snprintf(path, sizeof path, "%s/keys/audit.key", data_dir);
	rc = key_file_read(path, app->audit_key, sizeof app->audit_key);
	if (!rc)
		rc = audit_sign_key_load(app);
	if (!rc)
		rc = crypt_keys_load(data_dir, &app->keys);
	if (rc)
		goto fail;
	const char *db = app->config.db;
	char sqlite_path[1200];
	if (strncmp(db, "postgres", 8) != 0 && db[0] != '/') {
		snprintf(sqlite_path, sizeof sqlite_path, "%s/%s", data_dir, db);
		db = sqlite_path;
	}
	rc = store_open(db, app->config.threads + 2, &app->store);
	if (rc) {
		wg_error("cannot open the database %s / 无法打开数据库", app->config.db);
		goto fail;
	}
	*out = app;
	return 0;
fail:
	app_close(app);
	return rc ? rc : WG_ERR_INTERNAL;
}

void app_close(struct wg_app *app)
{
	if (!app)
		return;
	store_close(app->store);
	sodium_memzero(app->audit_key, sizeof app->audit_key);
	sodium_memzero(app->audit_sign_sk, sizeof app->audit_sign_sk);
	crypt_keys_wipe(&app->keys);
	wg_free(app->data_dir);
	wg_free(app);
}

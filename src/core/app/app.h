/* The running application: what every request can reach. */
#ifndef WG_APP_H
#define WG_APP_H

#include "core/lib/crypt.h"
#include "core/store/store.h"

#include <stdbool.h>
#include <stdint.h>

struct session_cache;
struct audit_queue;

struct wg_config {
	char db[1024];                  /* SQLite path or postgres:// URL */
	int64_t session_idle_seconds;
	int64_t session_absolute_seconds;
	int64_t login_fails_per_user;
	int64_t login_fails_per_address;
	int64_t login_window_seconds;
	int64_t login_lock_seconds;
	int64_t pwhash_ops;             /* argon2id cost; 0 = libsodium's interactive default */
	int64_t pwhash_mem;
	int64_t import_sort_index_bytes;  /* from this file size, an import into a small table builds its indexes by sorting */
	int64_t import_chunk_rows;      /* PostgreSQL: rows an import sends in one batch; 0 = one by one */
	int64_t public_requests_per_minute;  /* from one address, to the routes without an account */
	unsigned threads;
	char static_dir[1024];
	char trusted_proxy[64];         /* a reverse proxy's address: its X-Real-IP names the client */
	char public_url[256];           /* the address residents open; venue QR codes lead to <public_url>/v/<code> */
	char time_zone[64];             /* what people read times in (core/lib/timefmt.h) */
	int64_t password_classes;       /* character classes a new password needs (of 4) */
	int64_t totp_required;          /* 1: the roles in totp_roles sign in with a one-time code too */
	char totp_roles[256];           /* role names, space separated */
	char metrics_token[128];        /* GET /metrics with Authorization: Bearer <this> (empty: SYSTEM only) */
	char origins[512];              /* browser origins besides the Host's own (space separated), e.g. https://wangge.example.gov.cn */
	char tls_cert[1024], tls_key[1024];  /* PEM files: HTTPS built in */
	int64_t audit_checkpoint_seconds;    /* how often the audit head is signed into audit/checkpoints */
	int64_t audit_archive_days;          /* audit records older than this go to audit/archive/ (0: never) */
};

struct wg_app {
	char *data_dir;
	struct wg_config config;         /* what the process runs with */
	struct wg_config file_config;    /* what wangge.conf says (参数设置 shows both) */
	wg_store *store;
	struct session_cache *sessions;
	struct audit_queue *audit;
	unsigned char audit_key[32];
	unsigned char audit_sign_pk[32], audit_sign_sk[64];   /* Ed25519: checkpoints and archives (keys/audit_sign.key) */
	struct wg_keys keys;            /* personal-data keys (crypt.h) */
	int64_t started_at;
};

/* Reads DIR/wangge.conf and the key files; opens the store. The platform
 * (core/platform.h) adds the session cache, the audit queue and the modules. */
int  app_open(const char *data_dir, struct wg_app **out);
/* Overrides wangge.conf's threads for this process (serve --threads), so
 * that the connection pool opened with the store has one per worker. */
void app_set_threads(unsigned n);
void app_close(struct wg_app *app);
int  config_load(const char *path, struct wg_config *cfg);
/* Sets one key from its text, as a wangge.conf line would; where names the
 * source in the logged error ("wangge.conf line 3"). */
int  config_set(struct wg_config *cfg, const char *key, const char *value, const char *where);
/* The range wangge.conf accepts for an integer key; false for other keys. */
bool config_int_bounds(const char *key, int64_t *min, int64_t *max);
void config_defaults(struct wg_config *cfg);
int  config_write(const char *path, const struct wg_config *cfg);

#endif

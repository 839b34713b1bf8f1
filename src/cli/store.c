/* wangge migrate, backup, audit verify: looking after the store. */
#include "cli/cli.h"
#include "core/audit/archive.h"
#include "core/audit/audit.h"
#include "core/lib/parse.h"
#include "core/lib/err.h"
#include "core/lib/crypt.h"
#include "core/lib/mem.h"
#include "core/lib/opts.h"
#include "core/platform.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_DATA "data"

int cmd_migrate(int argc, char **argv)
{
	const char *data = DEFAULT_DATA, *pos[1];
	int npos, applied;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 0, &npos, "wangge migrate [--data DIR]");
	if (rc)
		return rc == 1 ? 0 : 2;
	struct wg_app *app;
	if (app_open(data, &app))
		return 1;
	rc = platform_declare();
	if (!rc)
		rc = platform_migrate(app->store, &applied);
	if (!rc)
		printf("%d migration(s) applied / 已应用 %d 个迁移\n", applied, applied);
	app_close(app);
	platform_forget();
	return rc ? 1 : 0;
}

/* Encrypted backups: "WGBACKUP1\n", the secretstream header, then the file
 * in chunks of BACKUP_CHUNK bytes (the last one shorter), each sealed with
 * XChaCha20-Poly1305 (crypto_secretstream), the last tagged final: a file
 * cut short or altered does not decrypt. The key is a 32-byte file the
 * operator keeps apart from the backups. */
#define BACKUP_MAGIC "WGBACKUP1\n"
#define BACKUP_CHUNK (64u * 1024)

static int read_full(int fd, unsigned char *buf, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t r = read(fd, buf + *got, n - *got);
		if (r < 0)
			return WG_ERR_IO;
		if (r == 0)
			break;
		*got += (size_t)r;
	}
	return 0;
}

static int write_full(int fd, const unsigned char *buf, size_t n)
{
	for (size_t o = 0; o < n;) {
		ssize_t w = write(fd, buf + o, n - o);
		if (w <= 0)
			return WG_ERR_IO;
		o += (size_t)w;
	}
	return 0;
}

/* Copies in to out sealed (encrypt) or opened (decrypt) with key. */
static int backup_seal(int in, int out, const unsigned char key[32], bool encrypt)
{
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
	unsigned char *plain = wg_malloc(BACKUP_CHUNK), *sealed = wg_malloc(BACKUP_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES);
	char magic[sizeof BACKUP_MAGIC - 1];
	size_t got;
	int rc = plain && sealed ? 0 : WG_ERR_NOMEM;
	if (!rc && encrypt) {
		crypto_secretstream_xchacha20poly1305_init_push(&st, header, key);
		rc = write_full(out, (const unsigned char *)BACKUP_MAGIC, sizeof BACKUP_MAGIC - 1);
		if (!rc)
			rc = write_full(out, header, sizeof header);
		for (bool last = false; !rc && !last;) {
			rc = read_full(in, plain, BACKUP_CHUNK, &got);
			last = got < BACKUP_CHUNK;
			unsigned long long n = 0;
			if (!rc)
				crypto_secretstream_xchacha20poly1305_push(&st, sealed, &n, plain, got, NULL, 0,
									   last ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
			if (!rc)
				rc = write_full(out, sealed, (size_t)n);
		}
	} else if (!rc) {
		if (read_full(in, (unsigned char *)magic, sizeof magic, &got) || got != sizeof magic ||
		    memcmp(magic, BACKUP_MAGIC, sizeof magic) != 0 || read_full(in, header, sizeof header, &got) ||
		    got != sizeof header || crypto_secretstream_xchacha20poly1305_init_pull(&st, header, key) != 0)
			rc = WG_ERR_VALIDATION;
		for (bool last = false; !rc && !last;) {
			unsigned char tag = 0;
			unsigned long long n = 0;
			rc = read_full(in, sealed, BACKUP_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES, &got);
			if (!rc && crypto_secretstream_xchacha20poly1305_pull(&st, plain, &n, &tag, sealed, got, NULL, 0) != 0)
				rc = WG_ERR_VALIDATION;
			last = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
			/* The final tag must come with the last chunk: nothing may follow it, nothing be missing. */
			if (!rc && !last && got < BACKUP_CHUNK + crypto_secretstream_xchacha20poly1305_ABYTES)
				rc = WG_ERR_VALIDATION;
			if (!rc)
				rc = write_full(out, plain, (size_t)n);
		}
		if (!rc && read_full(in, sealed, 1, &got) == 0 && got)
			rc = WG_ERR_VALIDATION;
	}
	if (plain)
		sodium_memzero(plain, BACKUP_CHUNK);
	wg_free(plain);
	wg_free(sealed);
	sodium_memzero(&st, sizeof st);
	return rc;
}

/* A new file at path for the owner alone (0600 whatever the umask). */
static int open_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	if (fd >= 0 && fchmod(fd, 0600) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* wangge backup --decrypt FILE --key KEYFILE --to OUT: no data directory needed. */
static int backup_decrypt(const char *from, const char *keyfile, const char *to)
{
	unsigned char key[32];
	if (key_file_read(keyfile, key, sizeof key))
		return 2;
	int in = open(from, O_RDONLY), out = in >= 0 ? open_private(to) : -1;
	int rc = in < 0 || out < 0 ? WG_ERR_IO : backup_seal(in, out, key, false);
	sodium_memzero(key, sizeof key);
	if (out >= 0 && (fsync(out) != 0 || close(out) != 0) && !rc)
		rc = WG_ERR_IO;
	if (in >= 0)
		close(in);
	if (rc) {
		unlink(to);
		return wg_error(rc == WG_ERR_VALIDATION ? "%s does not decrypt with this key (wrong key, or the file was altered or cut"
				" short) / 无法用此密钥解密(密钥不对或文件被改动、截断)" : "cannot read %s or write the output / 读写失败", from), 1;
	}
	printf("backup decrypted to %s / 已解密\n", to);
	return 0;
}

int cmd_backup(int argc, char **argv)
{
	const char *data = DEFAULT_DATA, *to = NULL, *keyfile = NULL, *decrypt = NULL, *pos[1];
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ "--to", "FILE", &to, NULL, "备份文件(只有属主可读) / the backup file to write (readable by its owner only)" },
		{ "--key", "KEYFILE", &keyfile, NULL, "用这个 32 字节密钥文件加密(或解密) / encrypt (or decrypt) with this 32-byte key file" },
		{ "--decrypt", "FILE", &decrypt, NULL, "解密一个加密的备份到 --to / decrypt an encrypted backup into --to" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 0, &npos,
			    "wangge backup --to FILE [--key KEYFILE] [--data DIR]\n       wangge backup --decrypt FILE --key KEYFILE --to OUT");
	if (rc)
		return rc == 1 ? 0 : 2;
	if (!to)
		return wg_error("--to FILE is required / 请用 --to 指定备份文件"), 2;
	if (decrypt) {
		if (!keyfile)
			return wg_error("--decrypt needs --key / 解密需要 --key"), 2;
		return backup_decrypt(decrypt, keyfile, to);
	}
	unsigned char key[32];
	if (keyfile && key_file_read(keyfile, key, sizeof key))
		return 2;
	struct wg_app *app;
	if (cli_open(data, &app))
		return 1;
	if (store_dialect(app->store) == WG_POSTGRES) {
		cli_close(app);
		return wg_error("the store is PostgreSQL: back it up with pg_dump (see docs/operations.md)"
				" / PostgreSQL 请使用 pg_dump 备份"), 2;
	}
	/* Names and addresses are in it: made 0600 before SQLite writes a byte,
	 * beside the target, and renamed (or encrypted) into place. */
	char tmp[1200];
	int n = snprintf(tmp, sizeof tmp, "%s.partial-XXXXXX", to);
	int fd = n > 0 && (size_t)n < sizeof tmp ? mkstemp(tmp) : -1;
	if (fd < 0) {
		cli_close(app);
		return wg_error("cannot create a file beside %s / 无法创建备份文件", to), 1;
	}
	close(fd);
	rc = store_backup(app->store, tmp);
	cli_close(app);
	if (!rc && !keyfile) {
		rc = chmod(tmp, 0600) == 0 && rename(tmp, to) == 0 ? 0 : WG_ERR_IO;
	} else if (!rc) {
		int in = open(tmp, O_RDONLY), out = in >= 0 ? open_private(to) : -1;
		rc = in < 0 || out < 0 ? WG_ERR_IO : backup_seal(in, out, key, true);
		if (out >= 0 && (fsync(out) != 0 || close(out) != 0) && !rc)
			rc = WG_ERR_IO;
		if (in >= 0)
			close(in);
		if (rc)
			unlink(to);
	}
	unlink(tmp);
	sodium_memzero(key, sizeof key);
	if (rc)
		return wg_error("backup to %s failed / 备份失败", to), 1;
	printf("backup written to %s%s (keys are not in it: copy %s/keys separately)\n", to,
	       keyfile ? ", encrypted" : "", data);
	return 0;
}

#define AUDIT_USAGE "wangge audit verify [--checkpoints FILE] [--data DIR]\n" \
		    "       wangge audit archive [--days N] [--data DIR]"

static int audit_verify_cmd(struct wg_app *app, const char *extra)
{
	struct audit_verify_result res;
	int rc = audit_verify(app, extra, &res);
	if (rc)
		return wg_error("cannot read the audit trail / 无法读取审计记录"), 1;
	if (res.first_bad_id) {
		printf("audit chain BROKEN / 审计链已被破坏: %s (%lld records checked)\n", res.reason, (long long)res.records);
		return 1;
	}
	printf("audit chain intact / 审计链完整: %lld records, %lld checkpoints, %lld archives\n", (long long)res.records,
	       (long long)res.checkpoints, (long long)res.archives);
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	const char *data = DEFAULT_DATA, *extra = NULL, *days = NULL, *pos[1];
	int npos;
	const struct wg_opt opts[] = {
		{ "--data", "DIR", &data, NULL, "数据目录 / data directory (default ./data)" },
		{ "--checkpoints", "FILE", &extra, NULL, "另存的检查点(如导出的日志)一并比对 / also compare the checkpoint lines of FILE (e.g. the log)" },
		{ "--days", "N", &days, NULL, "归档早于 N 天的记录(默认取 audit_archive_days;0 = 已签名的全部) / archive records older than N days" },
		{ 0 },
	};
	int rc = opts_parse(argc, argv, opts, pos, 1, &npos, AUDIT_USAGE);
	if (rc)
		return rc == 1 ? 0 : 2;
	bool verify = npos == 1 && strcmp(pos[0], "verify") == 0, archive = npos == 1 && strcmp(pos[0], "archive") == 0;
	uint32_t ndays = 0;
	if ((!verify && !archive) || (days && (!archive || !wg_parse_u32(days, strlen(days), &ndays) || ndays > 36500))) {
		opts_usage(AUDIT_USAGE, opts, stderr);
		return 2;
	}
	struct wg_app *app;
	if (cli_open(data, &app))
		return 1;
	if (verify) {
		rc = audit_verify_cmd(app, extra);
	} else {
		int64_t moved = 0;
		int64_t keep = days ? (int64_t)ndays : app->config.audit_archive_days;
		/* --days 0: every record a checkpoint has signed, however new. */
		rc = audit_archive_run(app, keep ? time(NULL) - keep * 86400 : INT64_MAX, &moved);
		if (rc)
			wg_error("archiving failed (%s) / 归档失败", wg_err_code(rc));
		else
			printf("%lld audit records archived to %s/audit/archive / 已归档 %lld 条审计记录\n", (long long)moved, data,
			       (long long)moved);
		rc = rc ? 1 : 0;
	}
	cli_close(app);
	return rc;
}

/* Fuzz target: what the security work reads from a request or a file. The
 * first byte picks the parser, the rest is its input:
 *   0  Authorization: the bearer token        1  Content-Type: a media type
 *   2  Origin / Sec-Fetch-Site / Host          3  a time (Unix seconds or ISO 8601)
 *   4  a one-time code or a recovery code      5  an audit archive line
 * None may crash, read past its input or loop; each answer must be consistent. */
#include "core/audit/archive.h"
#include "core/auth/totp.h"
#include "core/http/headers.h"
#include "core/lib/timefmt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

/* The input split at NUL bytes into up to three strings (headers hold no NUL). */
static void split3(char *s, size_t n, const char *out[3])
{
	out[0] = s;
	out[1] = out[2] = NULL;
	for (size_t i = 0, k = 1; i < n && k < 3; i++)
		if (s[i] == '\0')
			out[k++] = s + i + 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	size_t n = size - 1;
	char *s = malloc(n + 1);
	if (!s)
		return 0;
	memcpy(s, data + 1, n);
	s[n] = '\0';
	switch (data[0] % 6) {
	case 0: {
		const char *t = http_bearer_token(s);
		CHECK(!t || (t > s && t < s + n + 1 && *t && *t != ' '));
		break;
	}
	case 1:
		if (http_media_type_is(s, "application/json"))
			CHECK(strlen(s) >= 16);
		break;
	case 2: {
		const char *p[3];
		split3(s, n, p);
		enum http_site a = http_request_site(p[0], p[1], p[2], "https://wangge.example.gov.cn");
		enum http_site b = http_request_site(NULL, p[1], p[2], NULL);
		CHECK(a == HTTP_SITE_SAME || a == HTTP_SITE_CROSS);
		CHECK(b != HTTP_SITE_UNKNOWN || !p[1]);
		break;
	}
	case 3: {
		int64_t t, back;
		const char *zh, *en;
		char text[WG_TIME_ISO];
		if (wg_time_parse(s, strlen(s), true, &t, &zh, &en) && t >= 0 && t < INT64_C(253402300799)) {
			/* What is written reads back as the same time. */
			wg_time_iso(t, text);
			CHECK(wg_time_parse(text, strlen(text), false, &back, &zh, &en) && back == t);
		}
		break;
	}
	case 4: {
		char code[TOTP_RECOVERY_TEXT];
		if (totp_code_parse(s, strlen(s), code))
			CHECK(strlen(code) == TOTP_DIGITS);
		if (totp_recovery_parse(s, strlen(s), code))
			CHECK(strlen(code) == TOTP_RECOVERY_CHARS);
		break;
	}
	case 5: {
		struct audit_archive_row row, again;
		static char buf[AUDIT_ARCHIVE_LINE], buf2[AUDIT_ARCHIVE_LINE], line[2 * AUDIT_ARCHIVE_LINE];
		if (audit_archive_parse_line(s, strlen(s), &row, buf, sizeof buf) == 0) {
			/* A record read back is written as a line that reads as the same record. */
			size_t len = audit_archive_format_line(&row, line, sizeof line);
			CHECK(len > 0 && line[len - 1] == '\n');
			CHECK(audit_archive_parse_line(line, len - 1, &again, buf2, sizeof buf2) == 0);
			CHECK(again.row.id == row.row.id && again.row.at == row.row.at && again.row.user_id == row.row.user_id &&
			      again.row.events == row.row.events);
			CHECK(strcmp(again.row.username, row.row.username) == 0 && strcmp(again.hash, row.hash) == 0 &&
			      strcmp(again.row.node_path, row.row.node_path) == 0);
		}
		break;
	}
	}
	free(s);
	return 0;
}

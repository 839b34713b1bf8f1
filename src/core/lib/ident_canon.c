/* How identity values are stored (the canonical form of a declared field)
 * and shown to those who may not see them whole (masks). */
#include "core/lib/ident_int.h"
#include "core/lib/parse.h"

#include <assert.h>
#include <string.h>
#include <time.h>

/* ---- masks ------------------------------------------------------------- */

struct out_str {
	char *p;
	size_t size, len;
};

static void out_add(struct out_str *o, const char *s, size_t n)
{
	if (o->size == 0)
		return;
	size_t room = o->size - 1 - o->len;
	if (n > room)
		n = room;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void out_stars(struct out_str *o, size_t n)
{
	while (n--)
		out_add(o, "*", 1);
}

void ident_mask_id(const char *id, char *out, size_t size)
{
	struct out_str o = { out, size, 0 };
	size_t n = id ? strlen(id) : 0;
	if (size)
		out[0] = '\0';
	if (n >= 11) {
		out_add(&o, id, 6);
		out_stars(&o, n - 10);
		out_add(&o, id + n - 4, 4);
	} else {
		out_stars(&o, n);
	}
}

void ident_mask_phone(const char *phone, char *out, size_t size)
{
	struct out_str o = { out, size, 0 };
	size_t n = phone ? strlen(phone) : 0;
	if (size)
		out[0] = '\0';
	if (n == 11 && ident_all_digits(phone, n)) {
		out_add(&o, phone, 3);
		out_stars(&o, 4);
		out_add(&o, phone + 7, 4);
		return;
	}
	if (n < 8) {
		out_stars(&o, n);
		return;
	}
	/* landline: keep the area code and the last 4 digits */
	const char *dash = memchr(phone, '-', n);
	size_t keep = dash ? (size_t)(dash - phone) + 1 : 0;
	if (keep + 4 > n)
		keep = 0;
	out_add(&o, phone, keep);
	for (size_t i = keep; i < n - 4; i++)
		out_add(&o, phone[i] == '-' ? "-" : "*", 1);
	out_add(&o, phone + n - 4, 4);
}

void ident_mask_name(const char *name, char *out, size_t size)
{
	struct out_str o = { out, size, 0 };
	size_t n = name ? strlen(name) : 0;
	size_t i = 0, chars = 0;
	if (size)
		out[0] = '\0';
	if (n == 0)
		return;
	(void)ident_utf8_next(name, n, &i);
	size_t first = i;
	while (i < n) {
		(void)ident_utf8_next(name, n, &i);
		chars++;
	}
	if (chars == 0) {
		out_add(&o, "*", 1);
		return;
	}
	out_add(&o, name, first);
	out_stars(&o, chars);
}

void ident_mask_address(const char *address, char *out, size_t size)
{
	struct out_str o = { out, size, 0 };
	size_t n = address ? strlen(address) : 0, i = 0, chars = 0, keep = 0, kept = 0;
	if (size)
		out[0] = '\0';
	while (i < n) {
		(void)ident_utf8_next(address, n, &i);
		chars++;
	}
	/* The town and road, not the door: half the characters, at most eight. */
	size_t show = chars / 2 > 8 ? 8 : chars / 2;
	for (i = 0; kept < show && i < n; kept++)
		(void)ident_utf8_next(address, n, &i);
	keep = i;
	out_add(&o, address, keep);
	if (chars > show)
		out_stars(&o, chars - show > 4 ? 4 : chars - show);
}

/* ---- canonical forms, in the signature of a declared field's canon ---- */

/* Province-level prefixes of GB/T 2260; a finer, dated table of county
 * codes would reject numbers issued under codes since retired. */
bool ident_region_province_known(uint32_t code6, void *ctx)
{
	static const unsigned provinces[] = { 11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42,
					       43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82 };
	(void)ctx;
	for (size_t i = 0; i < sizeof provinces / sizeof provinces[0]; i++)
		if (code6 / 10000 == provinces[i])
			return true;
	return false;
}

int ident_canon_id(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en)
{
	struct ident_id id;
	struct ident_id_opts opts = { .today = ident_today(), .region_known = ident_region_province_known };
	enum ident_status st = ident_id_check(in, n, &opts, &id);
	if (st != IDENT_OK) {
		*zh = ident_status_zh(st);
		*en = ident_status_en(st);
		return -1;
	}
	wg_copy_text(out, size, id.id);
	return 0;
}

int ident_canon_phone(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en)
{
	struct ident_phone ph;
	enum ident_status st = ident_phone_check(in, n, &ph);
	if (st != IDENT_OK) {
		*zh = ident_status_zh(st);
		*en = ident_status_en(st);
		return -1;
	}
	wg_copy_text(out, size, ph.number);
	return 0;
}

int ident_canon_name(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en)
{
	struct ident_name nm;
	enum ident_status st = ident_name_check(in, n, &nm);
	if (st != IDENT_OK) {
		*zh = ident_status_zh(st);
		*en = ident_status_en(st);
		return -1;
	}
	wg_copy_text(out, size, nm.name);
	return 0;
}

int ident_canon_date(const char *in, size_t n, char *out, size_t size, const char **zh, const char **en)
{
	int y, m, d;
	enum ident_status st = ident_date_parse(in, n, ident_today(), &y, &m, &d);
	if (st != IDENT_OK) {
		*zh = ident_status_zh(st);
		*en = ident_status_en(st);
		return -1;
	}
	if (size < WG_DATE_TEXT) {
		*zh = "日期过长";
		*en = "date too long";
		return -1;
	}
	wg_format_date(out, y, m, d);
	return 0;
}

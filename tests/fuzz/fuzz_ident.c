/* Every identity validator and mask on arbitrary bytes: no crash, and a
 * value accepted once is accepted again unchanged (normalisation is stable). */
#include "core/lib/ident.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CHECK(cond) do { if (!(cond)) __builtin_trap(); } while (0)

static bool region_even(uint32_t code, void *ctx)
{
	(void)ctx;
	return code % 2 == 0;
}

static void masks(const char *s)
{
	char out[64];
	ident_mask_id(s, out, sizeof out);
	ident_mask_phone(s, out, sizeof out);
	ident_mask_name(s, out, sizeof out);
	ident_mask_name(s, out, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct ident_id_opts o = { ident_days(2024, 6, 1), NULL, NULL, size % 2 == 1 };
	struct ident_id id, id2;
	if (ident_id_check(s, size, &o, &id) == IDENT_OK) {
		o.from_number = false;
		CHECK(ident_id_check(id.id, strlen(id.id), &o, &id2) == IDENT_OK && !id2.changed);
		CHECK(strcmp(id.id, id2.id) == 0);
	}
	o.region_known = region_even;
	(void)ident_id_check(s, size, &o, &id);

	struct ident_phone ph, ph2;
	if (ident_phone_check(s, size, &ph) == IDENT_OK) {
		CHECK(ident_phone_check(ph.number, strlen(ph.number), &ph2) == IDENT_OK);
		CHECK(strcmp(ph.number, ph2.number) == 0 && ph.kind == ph2.kind && !ph2.changed);
	}
	(void)ident_mobile_check(s, size, &ph);

	struct ident_credit cc, cc2;
	enum ident_status st = ident_credit_check(s, size, &cc);
	if (st == IDENT_OK || st == IDENT_CREDIT_CHECK)
		CHECK(ident_credit_check(cc.code, strlen(cc.code), &cc2) == st && !cc2.changed);

	struct ident_plate pl, pl2;
	if (ident_plate_check(s, size, &pl) == IDENT_OK)
		CHECK(ident_plate_check(pl.plate, strlen(pl.plate), &pl2) == IDENT_OK && !pl2.changed);

	struct ident_name nm, nm2;
	if (ident_name_check(s, size, &nm) == IDENT_OK) {
		CHECK(ident_name_check(nm.name, strlen(nm.name), &nm2) == IDENT_OK && !nm2.changed);
		masks(nm.name);
	}

	int y, m, d;
	enum ident_gender g;
	(void)ident_date_parse(s, size, ident_days(2024, 6, 1), &y, &m, &d);
	(void)ident_gender_parse(s, size, &g);

	char z[300];
	size_t n = size < sizeof z - 1 ? size : sizeof z - 1;
	memcpy(z, data, n);
	z[n] = '\0';
	masks(z);
	(void)ident_status_zh((enum ident_status)(size % 40));
	(void)ident_status_code((enum ident_status)(size % 40));
	return 0;
}

/* Feeds arbitrary bytes to the CSV reader and the header detection. */
#include "core/sheet/sheet.h"
#include "core/sheet/sheet_int.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const char *const n_name[] = { "姓名", "name", NULL };
static const char *const n_id[] = { "身份证号", "公民身份号码", "id_number", NULL };
static const char *const n_phone[] = { "联系电话", "手机号", "phone", NULL };
static const struct sheet_column_spec cols[] = {
	{ "name", n_name, true },
	{ "id_number", n_id, true },
	{ "phone", n_phone, false },
};

static void drain(struct sheet_reader *r)
{
	struct sheet_row row;
	while (sheet_next_row(r, &row) == 0 && !row.end) {
		for (size_t i = 0; i < row.n; i++)  /* the import keeps cells as JSON strings without checking again */
			if (strlen(row.cells[i].text) != row.cells[i].len || !sheet_utf8_valid(row.cells[i].text, row.cells[i].len))
				__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sheet_reader *r;
	struct sheet_header h;
	struct sheet_error err;
	if (sheet_detect(data, size) != SHEET_FORMAT_CSV)
		return 0;
	if (sheet_open_memory(data, size, &r, &err) == 0) {
		drain(r);
		sheet_close(r);
	}
	if (sheet_open_memory(data, size, &r, &err) == 0) {
		sheet_find_header(r, cols, sizeof cols / sizeof cols[0], &h, &err);
		drain(r);
		sheet_header_release(&h);
		sheet_close(r);
	}
	return 0;
}

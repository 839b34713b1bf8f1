/* Feeds arbitrary bytes to the XLSX reader (ZIP container, expat streaming).
 * Inputs that are not ZIP files are skipped: the CSV reader has its own
 * target and XLS goes through libfreexl. */
#include "core/sheet/sheet.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sheet_reader *r;
	struct sheet_error err;
	struct sheet_row row;
	if (sheet_detect(data, size) != SHEET_FORMAT_XLSX)
		return 0;
	if (sheet_open_memory(data, size, &r, &err) != 0)
		return 0;
	while (sheet_next_row(r, &row) == 0 && !row.end) {
		for (size_t i = 0; i < row.n; i++)
			if (strlen(row.cells[i].text) != row.cells[i].len)
				__builtin_trap();
	}
	sheet_close(r);
	return 0;
}

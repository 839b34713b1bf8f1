/* The generated roster as an office would send it: the same rows in an
 * .xlsx workbook (every cell text, as ID numbers must be; inline strings,
 * written in constant memory).
 *   to_xlsx CSV XLSX */
#include <stdio.h>
#include <string.h>
#include <xlsxwriter.h>

int main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: to_xlsx CSV XLSX\n"), 2;
	FILE *f = fopen(argv[1], "r");
	if (!f)
		return perror(argv[1]), 1;
	lxw_workbook_options options = { .constant_memory = LXW_TRUE };
	lxw_workbook *book = workbook_new_opt(argv[2], &options);
	lxw_worksheet *sheet = book ? workbook_add_worksheet(book, "名单") : NULL;
	if (!sheet)
		return fprintf(stderr, "%s: cannot create\n", argv[2]), 1;
	char line[4096];
	lxw_row_t row = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = '\0';
		lxw_col_t col = 0;
		for (char *p = line, *comma;; p = comma + 1, col++) {
			comma = strchr(p, ',');
			if (comma)
				*comma = '\0';
			if (*p && worksheet_write_string(sheet, row, col, p, NULL) != LXW_NO_ERROR)
				return fprintf(stderr, "row %u: cannot write\n", (unsigned)row + 1), 1;
			if (!comma)
				break;
		}
		row++;
	}
	fclose(f);
	if (workbook_close(book) != LXW_NO_ERROR)
		return fprintf(stderr, "%s: cannot write\n", argv[2]), 1;
	printf("%u\n", (unsigned)row);
	return 0;
}

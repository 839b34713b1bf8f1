/* Input and output helpers of the trace CLI (trace_out.c). */
#ifndef WG_TRACE_CLI_H
#define WG_TRACE_CLI_H

#include <stdio.h>

#include "trace/trace.h"

enum cli_format { CLI_TABLE, CLI_CSV, CLI_JSON };

/* Reads a whole file (progress bar on stderr when it is a terminal). */
int  cli_read_file(const char *path, uint8_t **buf, size_t *len);
/* Maps a whole file privately (writable copy-on-write, so a batch can be
 * sorted in place without touching the file); on a terminal a progress bar
 * shows it being paged in. cli_unmap_file releases it. */
int  cli_map_file(const char *path, uint8_t **data, size_t *len);
void cli_unmap_file(uint8_t *data, size_t len);
/* Shows a phase (label) or a fraction done on stderr when it is a tty;
 * label NULL clears the line. */
void cli_progress(const char *label, uint64_t done, uint64_t total);
/* Cases file: CSV person,onset (Unix seconds), optional header. */
int  cli_read_cases(const char *path, struct trace_case **cases, size_t *n, struct trace_diag *d);
/* Prints a result; `what` is the command (close, secondary, companions, batch). */
int  cli_print(FILE *f, enum cli_format fmt, const char *what, const struct trace_result *r);
/* Writes a batch's pairs to fd (CSV `case,person`, JSON, or a table),
 * formatted by `threads` threads while this one writes. */
int  cli_write_pairs(int fd, enum cli_format fmt, const struct trace_pairs *p, int threads);

#endif

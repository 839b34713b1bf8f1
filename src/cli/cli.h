/* The platform's own commands (see the table in main.c); modules add theirs
 * in their module declaration. */
#ifndef WG_CLI_H
#define WG_CLI_H

#include <stddef.h>

int cmd_init(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_keys(int argc, char **argv);

/* Opens DIR (default ./data) for requests, after checking the schema is
 * current (core/platform.h); cli_close undoes it. */
struct wg_app;
int  cli_open(const char *data_dir, struct wg_app **app);
void cli_close(struct wg_app *app);
/* Reads one line from standard input (a password), without its newline. */
int  cli_read_secret(char *buf, size_t size);

#endif

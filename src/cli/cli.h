/* The subcommands of the wangge program (see the table in main.c). */
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

/* Opens DIR (default ./data) after checking the schema is current. */
struct wg_app;
int cli_open(const char *data_dir, struct wg_app **app);
/* Reads one line from standard input (a password), without its newline. */
int cli_read_secret(char *buf, size_t size);
/* Registers every route table of the program. */
int cli_register_routes(void);

#endif

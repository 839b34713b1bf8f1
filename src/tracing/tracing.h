/* Venues, scans and cases on top of the tracing engine. */
#ifndef WG_CASES_H
#define WG_CASES_H

int  cases_register(void);
/* The server's scan store (DATA/trace): opened by serve, closed at shutdown. */
int  cases_open_store(const char *data_dir);
void cases_close_store(void);

#endif

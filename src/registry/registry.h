/* The registry (摸排): households and persons on the grid. */
#ifndef WG_REGISTRY_H
#define WG_REGISTRY_H

int registry_register(void);
/* wangge keys rotate: a new field key, every secret re-encrypted with it. */
int cmd_keys(int argc, char **argv);

#endif

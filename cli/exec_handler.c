/* exec_handler.c: (to be written) */
#include "cli.h"

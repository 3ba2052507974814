/* worker_listen.c: (to be written) */
#include "internal.h"

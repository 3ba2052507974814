/* worker_pool.c: (to be written) */
#include "internal.h"

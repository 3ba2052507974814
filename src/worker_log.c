/* worker_log.c: (to be written) */
#include "internal.h"

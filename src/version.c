/* version.c: the version of the library itself, for programs that load a
 * libpgq.so built separately from the pgq.h they were compiled against. */
#include "pgq.h"

const char *pgq_version(void)
{
    return PGQ_VERSION;
}

/* headers.c: the rule job headers follow at enqueue (docs/design.md §3.2): a JSON
 * object, or JSON null, as the jsonb column will take it. */
#include <jansson.h>

#include "internal.h"

/* Numbers are read as doubles, so an integer beyond int64 (a trace id, a
 * Python big int) is accepted as PostgreSQL accepts it; jansson's default
 * refused it, and with it valid headers ("headers are not a JSON object",
 * found by tests/fuzz/fuzz_headers). jansson still refuses numbers beyond
 * a double's range (1e400) and nesting deeper than 2048, which PostgreSQL
 * would take: such headers are refused here, with the same message. */
bool pgq__headers_ok(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL, &err);
    bool ok = j && (json_is_object(j) || json_is_null(j));
    json_decref(j);
    return ok;
}

/*
 * fuzz_notify.c: NOTIFY payloads as the worker's listener parses them
 * (pgq__wake_parse, src/worker/listen.c): the PgQueuer JSON events
 * table_changed_event, cancellation_event and health_check_event.
 *
 * Invariants, checked against jansson's own reading of the payload: a
 * payload is accepted exactly when it is a JSON object whose "type" is one
 * of the three events; a refused one leaves the wake-up state as it was
 * and says why; an accepted cancellation adds exactly its integer ids, in
 * order, to those already gathered (the listener accumulates over several
 * notifications); a table change sets exactly one of the two flags.
 */
#include <jansson.h>
#include <stdbool.h>

#include "fuzz.h"
#include "worker/worker.h"

static const char *event_type(json_t *root)
{
    return json_is_object(root) ? json_string_value(json_object_get(root, "type")) : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    /* State from an earlier notification of the same drain. */
    pgq__wake wake = {0};
    wake.cancel_ids = malloc(sizeof *wake.cancel_ids);
    FUZZ_CHECK(wake.cancel_ids);
    wake.cancel_ids[0] = 42;
    wake.n_cancel = 1;
    pgq__wake before = wake;

    json_error_t jerr;
    json_t *root = json_loads(s, 0, &jerr);
    const char *type = event_type(root);
    bool changed = type && strcmp(type, "table_changed_event") == 0;
    bool cancel = type && strcmp(type, "cancellation_event") == 0;
    bool health = type && strcmp(type, "health_check_event") == 0;

    char why[128] = "";
    bool ok = pgq__wake_parse(s, &wake, why, sizeof why);
    FUZZ_CHECK(ok == (changed || cancel || health));
    FUZZ_CHECK(wake.n_cancel >= 1 && wake.cancel_ids[0] == 42);
    if (!ok) {
        FUZZ_CHECK(why[0] != '\0');
        FUZZ_CHECK(memcmp(&wake, &before, sizeof wake) == 0);
    }
    if (ok && changed) {
        const char *op = json_string_value(json_object_get(root, "operation"));
        bool del = op && (strcmp(op, "delete") == 0 || strcmp(op, "truncate") == 0);
        FUZZ_CHECK(wake.rows_deleted == del && wake.table_changed == !del);
        FUZZ_CHECK(wake.n_cancel == 1);
    }
    if (ok && cancel) {
        json_t *ids = json_object_get(root, "ids");
        size_t k = 1;
        for (size_t i = 0; i < json_array_size(ids); i++) {
            json_t *id = json_array_get(ids, i);
            if (!json_is_integer(id))
                continue;
            FUZZ_CHECK(k < wake.n_cancel);
            FUZZ_CHECK(wake.cancel_ids[k] == (int64_t)json_integer_value(id));
            k++;
        }
        FUZZ_CHECK(k == wake.n_cancel);
        FUZZ_CHECK(!wake.table_changed && !wake.rows_deleted);
    }
    if (ok && health)
        FUZZ_CHECK(wake.n_cancel == 1 && !wake.table_changed && !wake.rows_deleted);
    json_decref(root);
    pgq__wake_clear(&wake);
    free(s);
    return 0;
}

/*
 * fuzz_idlist.c: `--job-ids` lists (cli_parse_id_list, cli/parse.c).
 *
 * Invariants: the parser agrees with a reference written from the
 * documented grammar (items split at commas, spaces and tabs around an
 * item ignored, an item is an optional '+' and decimal digits, at most 31
 * characters, valued 1 to INT64_MAX; the result is the distinct ids in
 * input order); an accepted list re-rendered as "a,b,c" parses to the same
 * ids; a refused one leaves no array behind and says why.
 */
#include <inttypes.h>
#include <stdbool.h>

#include "cli.h"
#include "fuzz.h"

/* The reference: one item (without surrounding blanks) to an id. */
static bool ref_item(const char *p, size_t len, int64_t *id)
{
    if (len == 0 || len > 31)
        return false;
    size_t i = p[0] == '+' ? 1 : 0;
    if (i == len)
        return false;
    uint64_t v = 0;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        unsigned d = (unsigned)(p[i] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *id = (int64_t)v;
    return v > 0;
}

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/* The reference parser; ids has room for one id per item. */
static bool ref_list(const char *s, int64_t *ids, size_t *n)
{
    *n = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (p < end && blank(*p))
            p++;
        while (end > p && blank(end[-1]))
            end--;
        int64_t id;
        if (!ref_item(p, (size_t)(end - p), &id))
            return false;
        bool dup = false;
        for (size_t i = 0; i < *n; i++)
            dup |= ids[i] == id;
        if (!dup)
            ids[(*n)++] = id;
        if (!comma)
            return true;
        p = comma + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);
    size_t items = 1;
    for (const char *p = s; *p; p++)
        items += *p == ',';
    int64_t *want = malloc(items * sizeof *want);
    FUZZ_CHECK(want);
    size_t nwant = 0;
    bool ref_ok = ref_list(s, want, &nwant);

    int64_t *ids = NULL;
    size_t n = 0;
    char err[256] = "";
    int rc = cli_parse_id_list(s, &ids, &n, err, sizeof err);
    FUZZ_CHECK((rc == 0) == ref_ok);
    if (rc != 0) {
        FUZZ_CHECK(ids == NULL && n == 0 && err[0] != '\0');
    } else {
        FUZZ_CHECK(n == nwant && n >= 1);
        FUZZ_CHECK(memcmp(ids, want, n * sizeof *ids) == 0);
        /* Re-rendered, the list parses to the same ids. */
        char *text = malloc(n * 21 + 1);
        FUZZ_CHECK(text);
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
            len += (size_t)sprintf(text + len, "%s%" PRId64, i ? "," : "", ids[i]);
        int64_t *again = NULL;
        size_t n2 = 0;
        FUZZ_CHECK(cli_parse_id_list(text, &again, &n2, err, sizeof err) == 0);
        FUZZ_CHECK(n2 == n && memcmp(again, ids, n * sizeof *ids) == 0);
        free(again);
        free(text);
    }
    free(ids);
    free(want);
    free(s);
    return 0;
}

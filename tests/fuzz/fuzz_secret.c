/*
 * fuzz_secret.c: the password scanner of src/secret.c, through
 * pgq_dsn_scrub (in place, on a DSN) and pgq__mask (a message, with the
 * DSN it came from). The input is the message, a NUL byte, then the DSN.
 *
 * Invariants: scrubbing keeps the length and only turns bytes into '*';
 * scrubbing twice is scrubbing once; masking always returns a string, and
 * a message with neither "password" nor "://" in it, masked without a
 * DSN, is unchanged.
 */
#include "fuzz.h"
#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t tlen = nul ? (size_t)(nul - data) : size;
    char *text = fuzz_cstr(data, tlen);
    char *dsn = nul ? fuzz_cstr(nul + 1, size - tlen - 1) : NULL;

    if (dsn) {
        size_t n = strlen(dsn);
        char *once = strdup(dsn);
        FUZZ_CHECK(once);
        pgq_dsn_scrub(once);
        FUZZ_CHECK(strlen(once) == n);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(once[i] == dsn[i] || once[i] == '*');
        char *twice = strdup(once);
        FUZZ_CHECK(twice);
        pgq_dsn_scrub(twice);
        FUZZ_CHECK(strcmp(once, twice) == 0);
        free(once);
        free(twice);
    }
    char *m = pgq__mask(text, dsn);
    FUZZ_CHECK(m);
    free(m);
    if (!strstr(text, "password") && !strstr(text, "://")) {
        m = pgq__mask(text, NULL);
        FUZZ_CHECK(m && strcmp(m, text) == 0);
        free(m);
    }
    free(text);
    free(dsn);
    return 0;
}

/*
 * fuzz.h: what every fuzz target (tests/fuzz/fuzz_NAME.c) shares.
 *
 * A target defines LLVMFuzzerTestOneInput and checks invariants with
 * FUZZ_CHECK: a failed check aborts, which libFuzzer reports as a crash
 * (with the input saved) and the corpus replay reports as "not ok". The
 * same source builds two ways (tests/fuzz/meson.build): with replay.c's
 * main() for ./run-tests, and with libFuzzer's for tests/fuzz/run.
 */
#ifndef PGQ_FUZZ_H
#define PGQ_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                 \
    do {                                                                                 \
        if (!(cond))                                                                     \
            fuzz_fail(__FILE__, __LINE__, #cond);                                        \
    } while (0)

static inline __attribute__((noreturn)) void fuzz_fail(const char *file, int line,
                                                       const char *what)
{
    fprintf(stderr, "fuzz invariant failed: %s:%d: %s\n", file, line, what);
    abort();
}

/* The input as a malloc'd C string: the bytes up to the first NUL (the
 * parsers under test take C strings, so nothing past a NUL can reach
 * them). Never NULL: an allocation failure aborts. */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - data) : size;
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

/* Splits a C string in place at the first newline: returns the first
 * line and advances *rest past it ("" and *rest unchanged at the end). */
static inline char *fuzz_line(char **rest)
{
    char *line = *rest;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *rest = nl + 1;
    } else {
        *rest = line + strlen(line);
    }
    return line;
}

#endif

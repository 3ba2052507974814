/* output.c: formatting shared by the listing commands. */
#include <string.h>
#include <time.h>

#include "cli.h"

const char *cli_fmt_time(double epoch, char *buf, size_t n)
{
    time_t t = (time_t)epoch;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
    return buf;
}

const char *cli_fmt_iso(double epoch, char *buf, size_t n)
{
    time_t t = (time_t)epoch;
    struct tm tm;
    char base[24];
    gmtime_r(&t, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    int usec = (int)((epoch - (double)t) * 1e6 + 0.5);
    if (usec >= 1000000)
        usec = 999999;
    snprintf(buf, n, "%s.%06dZ", base, usec < 0 ? 0 : usec);
    return buf;
}

void cli_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *u = (const unsigned char *)s; u && *u; u++) {
        switch (*u) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*u < 0x20 || *u == 0x7f)
                fprintf(f, "\\u%04x", *u);
            else
                fputc(*u, f);
        }
    }
    fputc('"', f);
}

bool cli_is_printable_utf8(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t len = (c & 0xe0) == 0xc0   ? 2
                     : (c & 0xf0) == 0xe0 ? 3
                     : (c & 0xf8) == 0xf0 ? 4
                                          : 0;
        if (!len || c == 0xc0 || c == 0xc1 || i + len > n)
            return false;
        for (size_t k = 1; k < len; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

void cli_print_cut(FILE *f, const char *s, int width)
{
    size_t len = s ? strlen(s) : 0, chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += ((unsigned char)s[i] & 0xc0) != 0x80;
    size_t keep = width > 3 && chars > (size_t)width ? (size_t)width - 3 : chars;
    size_t col = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c & 0xc0) != 0x80 && col++ == keep)
            break;
        /* C1 controls (U+0080-U+009F, e.g. CSI) too: some terminals obey them. */
        if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
            (unsigned char)s[i + 1] <= 0x9f) {
            fputc(' ', f);
            i++;
            continue;
        }
        fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
    }
    if (keep < chars)
        fputs("...", f);
}

void cli_print_cell(FILE *f, const char *s, int width)
{
    size_t chars = 0;
    for (const char *p = s ? s : ""; *p; p++)
        chars += ((unsigned char)*p & 0xc0) != 0x80;
    cli_print_cut(f, s ? s : "", width);
    for (size_t i = chars; i < (size_t)width; i++)
        fputc(' ', f);
}

/*
 * leakcheck.h: LeakSanitizer for test processes that end with _exit().
 *
 * LeakSanitizer runs from an atexit handler, so a process that ends with
 * _exit() (a forked test case, which must not run its parent's atexit
 * handlers or flush its parent's stdio twice) is never checked. Such a
 * process calls th_leak_check() first: under AddressSanitizer it runs the
 * check now, printing the report to stderr, and returns nonzero if it found
 * leaks; in other builds it returns 0.
 */
#ifndef PGQ_TEST_LEAKCHECK_H
#define PGQ_TEST_LEAKCHECK_H

#if defined(__SANITIZE_ADDRESS__)
#define TH_HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TH_HAVE_LSAN 1
#endif
#endif

#ifdef TH_HAVE_LSAN
#include <sanitizer/lsan_interface.h>
static inline int th_leak_check(void)
{
    return __lsan_do_recoverable_leak_check();
}
#else
static inline int th_leak_check(void)
{
    return 0;
}
#endif

#endif

/*
 * replay.c: the main() of a fuzz target's corpus replay, which ./run-tests
 * runs as a test file (built with the normal compiler, so it runs in the
 * default and ASan lanes without clang or libFuzzer).
 *
 *   fuzz_NAME [DIR]   feeds every file of DIR (default: the target's
 *                     committed corpus, tests/fuzz/corpus/NAME) to
 *                     LLVMFuzzerTestOneInput
 *
 * Each input runs in its own forked process with a time limit, so one
 * crash, sanitizer report, leak or hang fails that input only and the rest
 * still run. Output is TAP: one line for the whole corpus, plus one line
 * per regression input (a file named regress-*: a bug fuzzing found), so
 * a report shows which fixed bug came back.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../leakcheck.h"
#include "fuzz.h"

#if !defined(PGQ_FUZZ_CORPUS) || !defined(PGQ_FUZZ_NAME)
#error "PGQ_FUZZ_CORPUS and PGQ_FUZZ_NAME must name the target and its corpus"
#endif

enum { TIME_LIMIT = 20 };

/* Reads a whole file into an exactly sized buffer, so AddressSanitizer sees
 * a read past the input's end as it would under libFuzzer. */
static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    uint8_t *data = NULL;
    size_t n = 0;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        uint8_t *grown = realloc(data, n + got);
        if (!grown) {
            free(data);
            fclose(f);
            return NULL;
        }
        data = grown;
        memcpy(data + n, chunk, got);
        n += got;
    }
    fclose(f);
    *size = n;
    return data ? data : malloc(1); /* an empty input is still an input */
}

/* Runs one input in a child; returns true if it passed, else prints why. */
static bool replay(const char *path, const char *show)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        printf("# %s: fork: %s\n", show, strerror(errno));
        return false;
    }
    if (pid == 0) {
        size_t size = 0;
        uint8_t *data = slurp(path, &size);
        if (!data) {
            fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
            _exit(3);
        }
        alarm(TIME_LIMIT);
        LLVMFuzzerTestOneInput(data, size);
        free(data);
        fflush(NULL);
        _exit(th_leak_check() ? 4 : 0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFSIGNALED(status))
        printf("# %s: killed by signal %d%s\n", show, WTERMSIG(status),
               WTERMSIG(status) == SIGALRM ? " (time limit)" : "");
    else
        printf("# %s: exit %d%s\n", show, WEXITSTATUS(status),
               WEXITSTATUS(status) == 4 ? " (leaks)" : "");
    return false;
}

static int visible(const struct dirent *d)
{
    return d->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : PGQ_FUZZ_CORPUS;
    const char *shown = argc > 1 ? argv[1] : "tests/fuzz/corpus/" PGQ_FUZZ_NAME;
    struct dirent **names;
    setvbuf(stdout, NULL, _IOLBF, 0);
    int n = scandir(dir, &names, visible, alphasort);
    if (n < 0) {
        printf("not ok 1 - corpus %s: %s\n1..1\n", shown, strerror(errno));
        return 1;
    }
    int num = 0, failed = 0, failed_plain = 0, plain = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        /* The default corpus path ends with the shown one. */
        size_t cut = strlen(dir) > strlen(shown) ? strlen(dir) - strlen(shown) : 0;
        const char *show = path + cut;
        bool regress = strncmp(names[i]->d_name, "regress-", 8) == 0;
        bool ok = replay(path, show);
        failed += !ok;
        if (regress)
            printf("%sok %d - regression input %s\n", ok ? "" : "not ", ++num,
                   names[i]->d_name);
        else
            plain++, failed_plain += !ok;
        free(names[i]);
    }
    free(names);
    if (n == 0)
        printf("not ok %d - corpus %s is empty\n", ++num, shown), failed++;
    else
        printf("%sok %d - %d corpus input(s) of %s (%d failed)\n",
               failed_plain ? "not " : "", ++num, plain, shown, failed_plain);
    printf("1..%d\n", num);
    return failed ? 1 : 0;
}

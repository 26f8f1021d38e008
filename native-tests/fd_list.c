/*
 * fd_list.c -- report the descriptors and signal state this process inherited.
 *
 * Usage: fd_list            (no arguments)
 *
 * Steps:
 *   1. List /proc/self/fd, excluding the fd of the directory stream itself,
 *      and print the open descriptor numbers to stdout, ascending, one per
 *      line.
 *   2. Copy the SigBlk and SigIgn lines from /proc/self/status, printed as
 *          SigBlk: <hex>
 *          SigIgn: <hex>
 *      (a single space after the colon, hex exactly as the kernel prints it).
 *
 * Exit 0 on success; 2 on usage or environment errors.  The test that spawns
 * it decides pass/fail: it asserts that exactly the fds it chose are open
 * and that SigBlk and SigIgn are all zeros.
 */
#include "peer.h"

#include <ctype.h>
#include <dirent.h>

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    DIR *d;
    struct dirent *e;
    int self;
    int *fds = NULL;
    size_t n = 0, cap = 0;
    FILE *f;
    char line[512];
    int seen = 0;

    (void)argv;
    if (argc != 1) {
        fputs("usage: fd_list\n", stderr);
        return PEER_BROKEN;
    }

    CHECK((d = opendir("/proc/self/fd")) != NULL);
    CHECK((self = dirfd(d)) >= 0);
    for (;;) {
        char *end;
        long v;

        errno = 0;
        e = readdir(d);
        if (e == NULL) {
            CHECK(errno == 0);
            break;
        }
        if (!isdigit((unsigned char)e->d_name[0]))
            continue;
        v = strtol(e->d_name, &end, 10);
        if (*end != '\0' || v < 0 || v > 0x7fffffffL)
            peer_die(PEER_BROKEN, "unexpected entry /proc/self/fd/%s", e->d_name);
        if ((int)v == self)
            continue;
        if (n == cap) {
            int *nf;
            cap = cap ? cap * 2 : 64;
            CHECK((nf = realloc(fds, cap * sizeof *fds)) != NULL);
            fds = nf;
        }
        fds[n++] = (int)v;
    }
    CHECK(closedir(d) == 0);

    qsort(fds, n, sizeof *fds, cmp_int);
    for (size_t i = 0; i < n; i++)
        printf("%d\n", fds[i]);
    free(fds);

    CHECK((f = fopen("/proc/self/status", "r")) != NULL);
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "SigBlk:", 7) == 0 || strncmp(line, "SigIgn:", 7) == 0) {
            char *v = line + 7;
            size_t len;
            while (*v == ' ' || *v == '\t')
                v++;
            len = strlen(v);
            while (len > 0 && isspace((unsigned char)v[len - 1]))
                v[--len] = '\0';
            printf("%.7s %s\n", line, v);
            seen++;
        }
    }
    CHECK(ferror(f) == 0);
    CHECK(fclose(f) == 0);
    if (seen != 2)
        peer_die(PEER_BROKEN, "SigBlk/SigIgn not found in /proc/self/status");
    CHECK(fflush(stdout) == 0);
    return PEER_PASS;
}

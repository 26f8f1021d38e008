/*
 * ipcb_owner.h -- names that record their creator, as io.ipcbridge.Reaper
 * writes and reads them, for C programs (the ipcbridge C peers, or any other
 * program whose objects a Java reaper, or `ipcbridge reap`, should clean up
 * after a crash).
 *
 * Self-contained and header-only: everything is static inline; it needs only
 * the C library (no peer.h).
 *
 *   /PREFIX.PID.START.PIDNS.LABEL
 *
 *   PID    getpid(), in decimal
 *   START  the process's start time in clock ticks since boot: field 22 of
 *          /proc/self/stat, that is the 20th field after the command name's
 *          last ')' (the name itself may hold spaces and parentheses); it
 *          tells a reused pid apart
 *   PIDNS  the inode of /proc/self/ns/pid: the reaper judges only creators of
 *          its own pid namespace
 *
 * The numbers are written as the reaper reads them: decimal, no sign, no
 * leading zero.  PREFIX and LABEL keep the name rules of ipcbridge (letters,
 * digits, '.', '_', '-'; no part of PREFIX between dots made of digits only),
 * and the whole name after its slash is at most IPCB_OWNER_NAME_MAX bytes, the
 * limit of a semaphore's name, so that every kind of object takes it.
 *
 *   char name[IPCB_OWNER_NAME_MAX + 2];
 *   if (ipcb_owner_name(name, sizeof name, "/myapp", "cache") != 0)
 *       ... errno says why (EINVAL: a bad prefix or label; ENAMETOOLONG)
 *   int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
 */
#ifndef IPCB_OWNER_H
#define IPCB_OWNER_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest name after its slash: NAME_MAX (255) less the "sem." of a semaphore's file. */
#define IPCB_OWNER_NAME_MAX 251

/* Whether s (n bytes) keeps the name rules; digits_only_parts: whether a part between dots may be all digits. */
static inline int ipcb_owner__valid(const char *s, size_t n, int digits_only_parts)
{
    size_t part = 0, digits = 0;
    if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return 0; /* "." and ".." are not names (Names.check) */
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!digits_only_parts && part > 0 && digits == part)
                return 0;
            part = digits = 0;
            continue;
        }
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
        part++;
        if (c >= '0' && c <= '9')
            digits++;
    }
    return 1;
}

/*
 * Writes "PID.START.PIDNS" of the calling process into out (size bytes).
 * Returns 0, or -1 with errno set (from /proc, or ENAMETOOLONG).
 */
static inline int ipcb_owner_part(char *out, size_t size)
{
    char line[1024];
    struct stat ns;
    unsigned long long start;
    FILE *f = fopen("/proc/self/stat", "re");
    if (f == NULL)
        return -1;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')');
    if (p == NULL) {
        errno = EIO;
        return -1;
    }
    /* the spaces before fields 3 .. 22: the start time follows the last */
    for (int field = 3; field <= 22; field++) {
        p = strchr(p + 1, ' ');
        if (p == NULL) {
            errno = EIO;
            return -1;
        }
    }
    if (sscanf(p + 1, "%llu", &start) != 1) {
        errno = EIO;
        return -1;
    }
    if (stat("/proc/self/ns/pid", &ns) != 0)
        return -1;
    int w = snprintf(out, size, "%ld.%llu.%llu", (long)getpid(), start, (unsigned long long)ns.st_ino);
    if (w < 0 || (size_t)w >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/*
 * Writes "/PREFIX.PID.START.PIDNS.LABEL" into out (size bytes); prefix may
 * start with '/'.  Returns 0, or -1 with errno: EINVAL for a prefix or label
 * that breaks the rules, ENAMETOOLONG, or what reading /proc gave.
 */
static inline int ipcb_owner_name(char *out, size_t size, const char *prefix, const char *label)
{
    char me[80];
    if (prefix[0] == '/')
        prefix++;
    if (!ipcb_owner__valid(prefix, strlen(prefix), 0) || !ipcb_owner__valid(label, strlen(label), 1)) {
        errno = EINVAL;
        return -1;
    }
    if (ipcb_owner_part(me, sizeof me) != 0)
        return -1;
    int w = snprintf(out, size, "/%s.%s.%s", prefix, me, label);
    if (w < 0 || (size_t)w >= size || (size_t)w - 1 > IPCB_OWNER_NAME_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

#endif

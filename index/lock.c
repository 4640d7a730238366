/*
 * lock.c — one writer at a time, and cleaning up after writers that died.
 *
 * The lock is flock(LOCK_EX) on the index directory itself.  The kernel drops
 * it when the holder exits in any way (SIGKILL included), so a lock can never
 * outlive its process: there is no stale lock to break, and no race between
 * deciding a lock is stale and taking it.  flock locks belong to an open file
 * description, so two writers in one process exclude each other too.  The
 * holder writes its pid to dir/LOCK, only so that a second writer can say who
 * holds the lock; the file is removed on release, and one left by a killed
 * writer is simply overwritten by the next one.
 *
 * Leftovers of a dead writer are files no MANIFEST names: *.tmp files and
 * finished segment files of a commit that never happened.  The next writer
 * removes them once it holds the lock (a reader never opens an unnamed file,
 * and on POSIX systems a reader that still maps a removed file keeps it).
 */
#include "ft_index_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int ft_lock_acquire(const char *dir, int *fdp, ft_error *err)
{
    *fdp = -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ft_error_errno(err, errno, "cannot open index directory %s", dir);
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, FT_LOCK) < 0) {
        close(fd);
        return ft_error_set(err, FT_ENOMEM, "out of memory");
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e != EWOULDBLOCK) {
            int rc = ft_error_errno(err, e, "cannot lock index directory %s", dir);
            free(path);
            return rc;
        }
        long pid = 0;
        FILE *f = fopen(path, "r");
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1) pid = 0;
            fclose(f);
        }
        free(path);
        if (pid > 0)
            return ft_error_set(err, FT_EBUSY, "index %s is locked by another writer (process %ld)", dir, pid);
        return ft_error_set(err, FT_EBUSY, "index %s is locked by another writer", dir);
    }
    int lf = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (lf >= 0) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
        if (write(lf, buf, (size_t)n) < 0) { /* informational only */ }
        close(lf);
    }
    free(path);
    *fdp = fd;
    return FT_OK;
}

void ft_lock_release(const char *dir, int fd)
{
    if (fd < 0) return;
    char *path = NULL;
    if (asprintf(&path, "%s/%s", dir, FT_LOCK) >= 0) {
        unlink(path);
        free(path);
    }
    close(fd); /* drops the flock */
}

/* Names of the files the MANIFEST text refers to, as one "\n"-separated
 * string with a leading "\n" (so "\nNAME\n" is an exact search). */
static char *referenced_names(const char *text, size_t len)
{
    char *out = malloc(len + 2);
    if (!out) return NULL;
    size_t n = 0;
    out[n++] = '\n';
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl) nl = end;
        const char *name = NULL;
        if ((size_t)(nl - p) > 5 && !memcmp(p, "file ", 5)) name = p + 5;
        else if ((size_t)(nl - p) > 8 && !memcmp(p, "deletes ", 8)) name = p + 8;
        if (name) {
            const char *sp = memchr(name, ' ', (size_t)(nl - name));
            if (!sp) sp = nl;
            memcpy(out + n, name, (size_t)(sp - name));
            n += (size_t)(sp - name);
            out[n++] = '\n';
        }
        p = nl + 1;
    }
    out[n] = 0;
    return out;
}

void ft_remove_unreferenced(const char *dir)
{
    char *mpath = NULL, *text = NULL, *names = NULL;
    size_t len = 0;
    if (asprintf(&mpath, "%s/%s", dir, FT_MANIFEST) < 0) return;
    ft_error e;
    int rc = ft_read_file(mpath, FT_MANIFEST_MAX, &text, &len, &e);
    free(mpath);
    if (rc == FT_OK) {
        names = referenced_names(text, len);
        free(text);
        if (!names) return;
    } else if (rc != FT_ENOTFOUND) {
        return; /* unreadable manifest: touch nothing but temporaries */
    }
    DIR *d = opendir(dir);
    if (!d) {
        free(names);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        size_t nl = strlen(n);
        int tmp = nl > 4 && !strcmp(n + nl - 4, ".tmp") && (!strncmp(n, "seg-", 4) || !strncmp(n, FT_MANIFEST, 8));
        int dead = 0;
        if (!tmp && !strncmp(n, "seg-", 4) && (names || rc == FT_ENOTFOUND)) {
            dead = 1;
            if (names) {
                char *key = malloc(nl + 3);
                if (!key) continue;
                key[0] = '\n';
                memcpy(key + 1, n, nl);
                key[nl + 1] = '\n';
                key[nl + 2] = 0;
                dead = strstr(names, key) == NULL;
                free(key);
            }
        }
        if (tmp || dead) {
            char *p;
            if (asprintf(&p, "%s/%s", dir, n) >= 0) {
                unlink(p);
                free(p);
            }
        }
    }
    closedir(d);
    free(names);
}

/*
 * fileio.c — the few system-call wrappers the index needs: write everything
 * or fail with the file named, fsync a directory so a rename is durable, read
 * a small file whole.  EINTR and short writes are handled here once.
 */
#include "ft_index_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

int ft_write_all(int fd, const void *p, size_t n, const char *path, ft_error *err)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n > (1u << 30) ? (1u << 30) : n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return ft_error_errno(err, errno, "cannot write %s", path);
        }
        c += w;
        n -= (size_t)w;
    }
    return FT_OK;
}

int ft_fsync_dir(const char *dir, ft_error *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ft_error_errno(err, errno, "cannot open directory %s", dir);
    int rc = FT_OK;
    if (fsync(fd) < 0 && errno != EINVAL) rc = ft_error_errno(err, errno, "cannot fsync %s", dir);
    close(fd);
    return rc;
}

int ft_read_file(const char *path, size_t max, char **out, size_t *len, ft_error *err)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ft_error_errno(err, errno, "cannot open %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return ft_error_errno(err, e, "cannot stat %s", path);
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return ft_error_set(err, FT_ECORRUPT, "%s: too large (%lld bytes, at most %zu expected)",
                            path, (long long)st.st_size, max);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return ft_error_set(err, FT_ENOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            free(buf);
            close(fd);
            return ft_error_errno(err, e, "cannot read %s", path);
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    close(fd);
    buf[got] = 0;
    *out = buf;
    *len = got;
    return FT_OK;
}

uint64_t ft_xxh64_file_map(const void *p, size_t n) { return XXH64(p, n, 0); }

/* tests/processes/static_peer.c — a static program (weft cannot be in it)
 * that copies stdin to stdout, each byte + 1, with plain blocking read and
 * write. If a parent under weft had made the pipes non-blocking, this copy
 * would fail with EAGAIN: it exits 3 then. Prints nothing else. */
#include <errno.h>
#include <unistd.h>

int main(void) {
  static char buf[1 << 16];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno == EAGAIN ? 3 : 4;
    if (n == 0) return 0;
    for (ssize_t i = 0; i < n; ++i) buf[i] = (char)(buf[i] + 1);
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(1, buf + off, (size_t)(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return errno == EAGAIN ? 3 : 4;
      off += w;
    }
  }
}

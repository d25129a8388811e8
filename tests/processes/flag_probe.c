/* tests/processes/flag_probe.c — a static program (no weft: LD_PRELOAD
 * cannot reach it) that prints, for each fd given, its F_GETFL flags as the
 * kernel has them ("fd=flags", O_ACCMODE and O_NONBLOCK only). A child of a
 * program under weft-run sees its descriptions exactly as the program set
 * them, so the output must equal the plain run's. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    int fd = atoi(argv[i]);
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0) printf("%d=bad ", fd);
    else printf("%d=%s%s ", fd, (fl & O_ACCMODE) == O_RDONLY ? "r" : (fl & O_ACCMODE) == O_WRONLY ? "w" : "rw",
                (fl & O_NONBLOCK) ? "+nonblock" : "");
  }
  printf("\n");
  return 0;
}

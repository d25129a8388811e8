// tests/faults/faults_util.cpp — /proc readings for the fault tests.
#include "faults.hpp"

#include <dirent.h>

#include <cstdio>

namespace weft_faults {

int open_fds() {
  DIR* d = ::opendir("/proc/self/fd");
  int n = 0;
  while (dirent* e = ::readdir(d))
    if (e->d_name[0] != '.') ++n;
  ::closedir(d);
  return n - 1;  // the directory's own fd
}

long rss_kib() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f && std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  if (f) std::fclose(f);
  return resident * (::sysconf(_SC_PAGESIZE) / 1024);
}

}  // namespace weft_faults

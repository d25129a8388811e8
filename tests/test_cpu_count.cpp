// tests/test_cpu_count.cpp — config::workers = 0 / WEFT_WORKERS=auto: one
// carrier per CPU the process may use (runtime/cpu_count.hpp). Links the
// static library to reach the cgroup parser.
#include "helpers.hpp"

#include "cpu_count.hpp"

#include <dirent.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

using namespace weft_test;

namespace {

// mask_cpus() is the calling thread's affinity count, computed here.
int mask_cpus() {
  cpu_set_t s;
  CPU_ZERO(&s);
  EXPECT_EQ(sched_getaffinity(0, sizeof s, &s), 0);
  return CPU_COUNT(&s);
}

// carriers_of() is the number of OS threads weft::run(c) adds.
int carriers_of(const weft::config& c) {
  int before = os_threads();
  int during = weft::run(c, [] { return os_threads(); });
  return during - before + 1;
}

// write_file() makes dir (and parents) and writes text to dir/name.
void write_file(const std::string& dir, const std::string& name, const std::string& text) {
  std::string p;
  for (std::size_t i = 1; i <= dir.size(); ++i)
    if (i == dir.size() || dir[i] == '/') mkdir(dir.substr(0, i).c_str(), 0700);
  std::ofstream(dir + "/" + name) << text;
}

}  // namespace

TEST(CpuCount, ParseCpuMax) {
  using weft::detail::parse_cpu_max;
  EXPECT_EQ(parse_cpu_max("max 100000\n"), 0u);
  EXPECT_EQ(parse_cpu_max("100000 100000\n"), 1u);
  EXPECT_EQ(parse_cpu_max("150000 100000\n"), 2u);  // rounded up
  EXPECT_EQ(parse_cpu_max("50000 100000"), 1u);
  EXPECT_EQ(parse_cpu_max("400000 100000"), 4u);
  EXPECT_EQ(parse_cpu_max(""), 0u);
  EXPECT_EQ(parse_cpu_max("garbage"), 0u);
  EXPECT_EQ(parse_cpu_max("100000 0"), 0u);
}

// The smallest quota along the cgroup path wins; "max" and missing files
// set no limit.
TEST(CpuCount, CgroupQuotaWalksToTheRoot) {
  std::string root = "/tmp/allcores-cg-" + std::to_string(getpid());
  write_file(root, "cpu.max", "max 100000\n");
  write_file(root + "/a", "cpu.max", "300000 100000\n");
  write_file(root + "/a/b", "cpu.max", "max 100000\n");
  mkdir((root + "/a/b/c").c_str(), 0700);  // no cpu.max
  EXPECT_EQ(weft::detail::cgroup_cpu_quota(root, "/a/b/c"), 3u);
  write_file(root + "/a/b", "cpu.max", "120000 100000\n");
  EXPECT_EQ(weft::detail::cgroup_cpu_quota(root, "/a/b/c"), 2u);
  EXPECT_EQ(weft::detail::cgroup_cpu_quota(root, "/"), 0u);
  EXPECT_EQ(weft::detail::cgroup_cpu_quota(root + "/none", "/x"), 0u);
  std::system(("rm -rf " + root).c_str());
}

TEST(CpuCount, UsableCpusIsTheMaskAtMost) {
  unsigned n = weft::detail::usable_cpus();
  EXPECT_GE(n, 1u);
  EXPECT_LE(n, static_cast<unsigned>(mask_cpus()));
  EXPECT_EQ(weft::detail::affinity_cpus(), static_cast<unsigned>(mask_cpus()));
}

// workers = 0 gives one carrier per usable CPU; the default stays 1.
TEST(CpuCount, WorkersZeroIsOnePerCpu) {
  weft::config autoc;
  autoc.workers = 0;
  int want = static_cast<int>(std::min(weft::detail::usable_cpus(), 64u));
  EXPECT_EQ(carriers_of(autoc), want);
  EXPECT_EQ(carriers_of(weft::config{}), 1);
}

// A thread pinned to one CPU gets one carrier.
TEST(CpuCount, PinnedThreadGetsOneCarrier) {
  int got = -1;
  std::thread t([&] {
    cpu_set_t one;
    CPU_ZERO(&one);
    cpu_set_t all;
    ASSERT_EQ(sched_getaffinity(0, sizeof all, &all), 0);
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &all)) {
        CPU_SET(c, &one);
        break;
      }
    ASSERT_EQ(sched_setaffinity(0, sizeof one, &one), 0);
    EXPECT_EQ(weft::detail::usable_cpus(), 1u);
    weft::config c;
    c.workers = 0;
    got = carriers_of(c);
  });
  t.join();
  EXPECT_EQ(got, 1);
}

// WEFT_WORKERS=auto overrides the config.
TEST(CpuCount, EnvAuto) {
  setenv("WEFT_WORKERS", "auto", 1);
  int got = carriers_of(weft::config{});
  unsetenv("WEFT_WORKERS");
  EXPECT_EQ(got, static_cast<int>(std::min(weft::detail::usable_cpus(), 64u)));
}

// tests/hooks/test_hooks_file.cpp — regular files on fibers, linked mode:
// read/readv/pread return the same bytes as on a plain thread, hot (page
// cache, RWF_NOWAIT) and cold (posix_fadvise DONTNEED after fsync: a miss
// goes to the offload pool); a cold read, big writes and an fsync leave a
// 1 ms ticker fiber of the same carrier running; errors keep their errno.
#include "hooks_test.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

using namespace hooks_test;

namespace {

// A file of random bytes in /tmp, written and synced; removed at the end.
struct temp_file {
  std::string path;
  std::vector<char> bytes;
  explicit temp_file(std::size_t size) {
    path = "/tmp/allcores-file-" + std::to_string(getpid()) + "-" + std::to_string(size);
    bytes.resize(size);
    std::mt19937_64 rng(size);
    for (std::size_t i = 0; i < size; i += 8) {
      std::uint64_t v = rng();
      std::memcpy(&bytes[i], &v, std::min<std::size_t>(8, size - i));
    }
    std::thread([&] {  // plain thread: the real calls
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      EXPECT_GE(fd, 0);
      EXPECT_EQ(::write(fd, bytes.data(), size), static_cast<ssize_t>(size));
      EXPECT_EQ(::fsync(fd), 0);
      ::close(fd);
    }).join();
  }
  ~temp_file() { ::unlink(path.c_str()); }
  // evict() drops the file's pages from the page cache (clean after fsync).
  void evict() const {
    int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    ::close(fd);
  }
  // cached() is true when the first page is in the page cache.
  bool cached() const {
    int fd = ::open(path.c_str(), O_RDONLY);
    char c;
    iovec v{&c, 1};
    bool hit = preadv2(fd, &v, 1, 0, RWF_NOWAIT) == 1;
    ::close(fd);
    return hit;
  }
};

// pool_holder holds the offload pool's thread (a pool of one) with a job
// until release(), at most 5 s. Fiber only.
struct pool_holder {
  std::atomic<bool> released{false};
  weft::fiber<void> job;
  pool_holder() {
    job = weft::spawn([this] {
      weft::offload([this] {
        auto until = clock_type::now() + std::chrono::seconds(5);  // bounded if the calls never return
        while (!released.load() && clock_type::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      });
    });
    weft::this_fiber::sleep_for(std::chrono::milliseconds(20));  // the job holds the pool's thread now
  }
  void release() {
    released = true;
    job.join();
  }
};

// ticker runs a fiber that sleeps 1 ms in a loop, counting ticks and the
// worst lateness, until stopped.
struct ticker {
  std::atomic<long> ticks{0};
  long worst_us = 0;
  bool stop = false;
  weft::fiber<void> f;
  ticker() {
    f = weft::spawn([this] {
      while (!stop) {
        auto t0 = clock_type::now();
        weft::this_fiber::sleep_for(std::chrono::milliseconds(1));
        long late = std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0).count() - 1000;
        worst_us = std::max(worst_us, late);
        ticks.fetch_add(1, std::memory_order_relaxed);
      }
    });
    weft::this_fiber::yield();
  }
  void end() {
    stop = true;
    f.join();
  }
};

// read_all() reads fd to its end with `chunk`-byte read() calls.
std::vector<char> read_all(int fd, std::size_t chunk) {
  std::vector<char> out, buf(chunk);
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), chunk);
    EXPECT_GE(n, 0) << std::strerror(errno);
    if (n <= 0) break;
    out.insert(out.end(), buf.data(), buf.data() + n);
  }
  return out;
}

}  // namespace

// Hot and cold, read/readv/pread give the file's bytes; a short file's
// read stops at its end; offsets past the end give 0.
TEST(HooksFile, SameBytesHotAndCold) {
  temp_file t(3 * 1024 * 1024 + 123);
  weft::run([&] {
    for (bool cold : {false, true}) {
      if (cold) t.evict();
      int fd = ::open(t.path.c_str(), O_RDONLY);
      ASSERT_GE(fd, 0);
      EXPECT_EQ(read_all(fd, 65536), t.bytes) << (cold ? "cold" : "hot");
      if (cold) t.evict();
      ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
      std::vector<char> a(1000), b(t.bytes.size());
      iovec v[2] = {{a.data(), a.size()}, {b.data(), b.size()}};
      ssize_t n = ::readv(fd, v, 2);
      ASSERT_EQ(n, static_cast<ssize_t>(t.bytes.size()));  // a short file: all of it, then the end
      EXPECT_TRUE(std::equal(a.begin(), a.end(), t.bytes.begin()));
      EXPECT_TRUE(std::equal(b.begin(), b.begin() + (n - 1000), t.bytes.begin() + 1000));
      if (cold) t.evict();
      std::mt19937 rng(7);
      for (int i = 0; i < 50; ++i) {
        std::size_t off = rng() % t.bytes.size(), len = 1 + rng() % 200000;
        std::vector<char> buf(len);
        ssize_t r = ::pread(fd, buf.data(), len, static_cast<off_t>(off));
        std::size_t want = std::min(len, t.bytes.size() - off);
        ASSERT_EQ(r, static_cast<ssize_t>(want));
        EXPECT_TRUE(std::equal(buf.begin(), buf.begin() + r, t.bytes.begin() + off));
      }
      char c;
      EXPECT_EQ(::pread(fd, &c, 1, static_cast<off_t>(t.bytes.size() + 10)), 0);
      ::close(fd);
    }
  });
}

// While one fiber reads a cold file in one call, a ticker fiber of the
// same (only) carrier keeps ticking: the read runs on the offload pool.
TEST(HooksFile, ColdReadLeavesTickerRunning) {
  temp_file t(48 * 1024 * 1024);
  t.evict();
  ASSERT_FALSE(t.cached()) << "posix_fadvise(DONTNEED) did not evict the file here";
  std::vector<char> buf(t.bytes.size());  // zeroed here, not on the carrier while the ticker runs
  weft::run([&] {
    int fd = ::open(t.path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    ticker tk;
    long before = tk.ticks.load();
    tk.worst_us = 0;
    auto t0 = clock_type::now();
    ssize_t n = ::read(fd, buf.data(), buf.size());
    long ms = ms_since(t0);
    long during = tk.ticks.load() - before;
    tk.end();
    ::close(fd);
    ASSERT_EQ(n, static_cast<ssize_t>(buf.size()));
    EXPECT_TRUE(buf == t.bytes);
    // On the carrier the ticker could not tick at all during the call.
    if (ms >= 5) {
      EXPECT_GE(during, 2) << "read took " << ms << " ms";
    }
    EXPECT_LT(tk.worst_us, 200000) << "ticker " << tk.worst_us << " us late";  // generous: a shared machine
    std::printf("cold read of %zu MiB: %ld ms, %ld ticks meanwhile, ticker at most %ld us late\n",
                buf.size() >> 20, ms, during, tk.worst_us);
  });
}

// Big writes and an fsync on a fiber leave the ticker running too; the
// file holds what was written.
TEST(HooksFile, WriteAndFsyncLeaveTickerRunning) {
  std::string path = "/tmp/allcores-fsync-" + std::to_string(getpid());
  std::vector<char> data(16 * 1024 * 1024);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + (i >> 12));
  weft::run([&] {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ticker tk;
    long before = tk.ticks.load();
    tk.worst_us = 0;
    auto t0 = clock_type::now();
    ASSERT_EQ(::write(fd, data.data(), data.size() / 2), static_cast<ssize_t>(data.size() / 2));
    ASSERT_EQ(::pwrite(fd, data.data() + data.size() / 2, data.size() / 2, static_cast<off_t>(data.size() / 2)),
              static_cast<ssize_t>(data.size() / 2));
    ASSERT_EQ(::fsync(fd), 0);
    ASSERT_EQ(::fdatasync(fd), 0);
    long ms = ms_since(t0);
    long during = tk.ticks.load() - before;
    tk.end();
    ::close(fd);
    if (ms >= 5) {
      EXPECT_GE(during, 2) << "writes and fsync took " << ms << " ms";
    }
    EXPECT_LT(tk.worst_us, 200000) << "ticker " << tk.worst_us << " us late";
    std::printf("16 MiB written and synced: %ld ms, %ld ticks meanwhile, ticker at most %ld us late\n", ms, during,
                tk.worst_us);
  });
  std::vector<char> back(data.size());
  int fd = ::open(path.c_str(), O_RDONLY);
  ASSERT_EQ(::read(fd, back.data(), back.size()), static_cast<ssize_t>(back.size()));
  ::close(fd);
  ::unlink(path.c_str());
  EXPECT_TRUE(back == data);
}

// Errors come back with the plain call's errno: EBADF (write to a
// read-only fd, fsync of a closed fd), EINVAL (negative offset), EISDIR.
TEST(HooksFile, ErrorsKeepErrno) {
  temp_file t(4096);
  weft::run([&] {
    int fd = ::open(t.path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    char c = 'x';
    errno = 0;
    EXPECT_EQ(::write(fd, &c, 1), -1);
    EXPECT_EQ(errno, EBADF);
    errno = 0;
    EXPECT_EQ(::pread(fd, &c, 1, -5), -1);
    EXPECT_EQ(errno, EINVAL);
    ::close(fd);
    int dir = ::open("/tmp", O_RDONLY | O_DIRECTORY);
    ASSERT_GE(dir, 0);
    errno = 0;
    EXPECT_EQ(::read(dir, &c, 1), -1);
    EXPECT_EQ(errno, EISDIR);
    ::close(dir);
  });
}

// Many fibers reading one hot file with pread: each gets its own bytes.
TEST(HooksFile, ManyFibersPread) {
  temp_file t(1024 * 1024);
  weft::run([&] {
    int fd = ::open(t.path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    std::atomic<int> bad{0};
    std::vector<weft::fiber<void>> fs;
    for (int i = 0; i < 200; ++i)
      fs.push_back(weft::spawn([&, i] {
        char buf[4096];
        for (int k = 0; k < 20; ++k) {
          off_t off = ((i * 20 + k) * 4096) % (1024 * 1024);
          if (::pread(fd, buf, sizeof buf, off) != 4096 || std::memcmp(buf, &t.bytes[off], 4096) != 0) ++bad;
          if (k % 5 == 0) weft::this_fiber::yield();
        }
      }));
    for (auto& f : fs) f.join();
    ::close(fd);
    EXPECT_EQ(bad.load(), 0);
  });
}

// A file of an in-memory file system (procfs) is read with the plain call on
// the carrier, not on the offload pool: with the pool's one thread held by
// a job, reading /proc/self/status still completes at once, with the bytes
// a plain thread reads.
TEST(HooksFile, InMemoryFilesSkipThePool) {
  weft::run(weft::config{.offload_threads = 1}, [&] {
    pool_holder held;
    auto t0 = clock_type::now();
    int fd = ::open("/proc/self/stat", O_RDONLY);
    ASSERT_GE(fd, 0);
    std::vector<char> got = read_all(fd, 64);  // procfs's short reads stay short
    ::close(fd);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count();
    held.release();
    EXPECT_LT(ms, 2000) << "the procfs read waited for the offload pool";
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(std::string(got.data(), std::min<std::size_t>(got.size(), 8)).find(std::to_string(getpid())), 0u);
  });
}

// On the io_uring backend the blocking part of a file call goes to the
// carrier's ring, not to the offload pool: with the pool's only thread held
// by a job, a cold read, writes and every sync call still complete, with
// the right bytes. (On epoll they would wait for the held pool thread.)
TEST(HooksFile, RingTakesFileCallsWithoutThePool) {
  const char* backend = std::getenv("WEFT_BACKEND");
  if (!backend || std::string(backend) != "uring") GTEST_SKIP() << "the ring is the uring backend's";
  temp_file t(4 * 1024 * 1024);
  t.evict();
  ASSERT_FALSE(t.cached()) << "posix_fadvise(DONTNEED) did not evict the file here";
  std::string out = t.path + "-out";
  std::vector<char> buf(t.bytes.size());
  weft::run(weft::config{.offload_threads = 1}, [&] {
    pool_holder held;
    auto t0 = clock_type::now();
    int fd = ::open(t.path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    std::size_t half = buf.size() / 2;
    EXPECT_EQ(::pread(fd, buf.data() + half, buf.size() - half, static_cast<off_t>(half)),
              static_cast<ssize_t>(buf.size() - half));
    EXPECT_EQ(::read(fd, buf.data(), half), static_cast<ssize_t>(half));
    ::close(fd);
    int wfd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(wfd, 0);
    EXPECT_EQ(::write(wfd, t.bytes.data(), half), static_cast<ssize_t>(half));
    EXPECT_EQ(::pwrite(wfd, t.bytes.data() + half, t.bytes.size() - half, static_cast<off_t>(half)),
              static_cast<ssize_t>(t.bytes.size() - half));
    EXPECT_EQ(::sync_file_range(wfd, 0, 0, SYNC_FILE_RANGE_WRITE), 0);
    EXPECT_EQ(::fdatasync(wfd), 0);
    EXPECT_EQ(::fsync(wfd), 0);
    ::close(wfd);
    EXPECT_EQ(::fsync(wfd), -1);  // closed: the ring reports the kernel's EBADF
    EXPECT_EQ(errno, EBADF);
    long ms = ms_since(t0);
    held.release();
    EXPECT_LT(ms, 2000) << "the file calls waited for the offload pool";
  });
  EXPECT_TRUE(buf == t.bytes);
  std::vector<char> back(t.bytes.size());
  int fd = ::open(out.c_str(), O_RDONLY);
  ASSERT_EQ(::read(fd, back.data(), back.size()), static_cast<ssize_t>(back.size()));
  ::close(fd);
  ::unlink(out.c_str());
  EXPECT_TRUE(back == t.bytes);
}

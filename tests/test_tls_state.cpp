// tests/test_tls_state.cpp — per-fiber thread state: errno and the C++
// exception state (std::current_exception, std::uncaught_exceptions) are
// kept per fiber across switches.
#include "helpers.hpp"

#include <cerrno>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace weft_test;

// errno set by one fiber survives yields and sleeps while other fibers set
// their own values.
TEST(TlsState, ErrnoPreservedPerFiber) {
  weft::run([] {
    auto body = [](int base) {
      return [base] {
        int bad = 0;
        for (int i = 0; i < 200; ++i) {
          errno = base + i;
          weft::this_fiber::yield();
          if (errno != base + i) ++bad;
          errno = base - i;
          if (i % 20 == 0) weft::this_fiber::sleep_for(1ms);
          if (errno != base - i) ++bad;
        }
        return bad;
      };
    };
    auto a = weft::spawn(body(1000));
    auto b = weft::spawn(body(2000));
    auto c = weft::spawn(body(3000));
    EXPECT_EQ(a.join(), 0);
    EXPECT_EQ(b.join(), 0);
    EXPECT_EQ(c.join(), 0);
  });
}

// errno survives a wait that another thread ends (cross-thread wake-up).
TEST(TlsState, ErrnoPreservedAcrossCrossThreadWake) {
  weft::event ev;
  std::thread setter;
  int seen = weft::run([&] {
    setter = std::thread([&] {
      errno = 1;
      weft::this_fiber::sleep_for(20ms);
      ev.set();
    });
    auto other = weft::spawn([] {
      for (int i = 0; i < 50; ++i) {
        errno = 99;
        weft::this_fiber::sleep_for(1ms);
      }
    });
    errno = 42;
    ev.wait();
    int e = errno;
    other.join();
    return e;
  });
  setter.join();
  EXPECT_EQ(seen, 42);
}

// A fiber yielding inside a catch block keeps its own current exception,
// while another fiber throws and catches its own; `throw;` still rethrows
// the right one.
TEST(TlsState, CurrentExceptionSurvivesYieldInCatch) {
  weft::run([] {
    auto a = weft::spawn([] {
      try {
        throw std::runtime_error("A");
      } catch (...) {
        for (int i = 0; i < 5; ++i) {
          weft::this_fiber::yield();
          EXPECT_EQ(what_of(std::current_exception()), "A");
          EXPECT_EQ(std::uncaught_exceptions(), 0);
        }
        try {
          throw;
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "A");
        }
        EXPECT_EQ(what_of(std::current_exception()), "A");
      }
      EXPECT_EQ(std::current_exception(), nullptr);
    });
    auto b = weft::spawn([] {
      for (int i = 0; i < 5; ++i) {
        EXPECT_EQ(std::current_exception(), nullptr);
        try {
          throw std::logic_error(std::string("B").append(std::to_string(i)));
        } catch (...) {
          weft::this_fiber::yield();
          EXPECT_EQ(what_of(std::current_exception()), std::string("B").append(std::to_string(i)));
        }
        EXPECT_EQ(std::current_exception(), nullptr);
      }
    });
    a.join();
    b.join();
    EXPECT_EQ(std::current_exception(), nullptr);
  });
}

// Nested catch blocks: after the inner handler ends (with yields in both),
// the outer exception is current again.
TEST(TlsState, NestedCatchBlocksAcrossYields) {
  weft::run([] {
    auto noise = weft::spawn([] {
      for (int i = 0; i < 20; ++i) {
        try {
          throw i;
        } catch (int) {
          weft::this_fiber::yield();
        }
      }
    });
    auto f = weft::spawn([] {
      try {
        throw std::runtime_error("outer");
      } catch (...) {
        weft::this_fiber::yield();
        try {
          throw std::runtime_error("inner");
        } catch (...) {
          weft::this_fiber::yield();
          EXPECT_EQ(what_of(std::current_exception()), "inner");
        }
        weft::this_fiber::yield();
        EXPECT_EQ(what_of(std::current_exception()), "outer");
      }
      EXPECT_EQ(std::current_exception(), nullptr);
    });
    f.join();
    noise.join();
  });
}

// A fiber switching away during unwinding (a destructor that yields) still
// counts its own uncaught exception afterwards; meanwhile another fiber sees
// none of it.
TEST(TlsState, UncaughtExceptionsPerFiber) {
  weft::run([] {
    int before = -1, after = -1;
    int b_start = -1, b_in_catch = -1, b_after = -1;
    auto a = weft::spawn([&] {
      struct probe {
        int& before;
        int& after;
        ~probe() {
          before = std::uncaught_exceptions();
          weft::this_fiber::yield();
          weft::this_fiber::yield();
          after = std::uncaught_exceptions();
        }
      };
      try {
        probe p{before, after};
        throw std::runtime_error("unwinding");
      } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "unwinding");
      }
      EXPECT_EQ(std::uncaught_exceptions(), 0);
    });
    auto b = weft::spawn([&] {
      b_start = std::uncaught_exceptions();
      try {
        throw 1;
      } catch (int) {
        b_in_catch = std::uncaught_exceptions();
        weft::this_fiber::yield();
      }
      b_after = std::uncaught_exceptions();
    });
    a.join();
    b.join();
    EXPECT_EQ(before, 1);
    EXPECT_EQ(after, 1);
    EXPECT_EQ(b_start, 0);
    EXPECT_EQ(b_in_catch, 0);
    EXPECT_EQ(b_after, 0);
  });
}

// Many fibers each parked inside their own catch block at once.
TEST(TlsState, ManyFibersInsideCatchBlocks) {
  weft::run([] {
    constexpr int kN = 200;
    std::vector<weft::fiber<int>> fs;
    for (int i = 0; i < kN; ++i)
      fs.push_back(weft::spawn([i] {
        int bad = 0;
        try {
          throw std::runtime_error(std::to_string(i));
        } catch (...) {
          for (int k = 0; k < 3; ++k) {
            weft::this_fiber::sleep_for(1ms);
            if (what_of(std::current_exception()) != std::to_string(i)) ++bad;
          }
        }
        if (std::current_exception() != nullptr) ++bad;
        return bad;
      }));
    int bad = 0;
    for (auto& f : fs) bad += f.join();
    EXPECT_EQ(bad, 0);
  });
}

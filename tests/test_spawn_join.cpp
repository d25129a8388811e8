// tests/test_spawn_join.cpp — spawn(), fiber<R> handles: join, detach,
// done, ids, names, usage errors, joins from other threads.
#include "helpers.hpp"

#include <functional>
#include <future>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace weft_test;

namespace {
// An exception type with a payload, to check join() keeps the exact type.
struct coded_error : std::runtime_error {
  int code;
  coded_error(const char* w, int c) : std::runtime_error(w), code(c) {}
};

// A callable whose copy throws, to check spawn() fails cleanly.
struct throwing_copy {
  throwing_copy() = default;
  throwing_copy(const throwing_copy&) { throw std::runtime_error("copy failed"); }
  int operator()() const { return 1; }
};

// fib(n) computed by a tree of fibers: each call spawns one child. Fiber only.
long fib(int n) {
  if (n < 2) return n;
  auto left = weft::spawn([n] { return fib(n - 1); });
  long right = fib(n - 2);
  return left.join() + right;
}
}  // namespace

// join() returns each fiber's result: plain, string, move-only, void.
TEST(SpawnJoin, JoinReturnsResult) {
  weft::run([] {
    auto a = weft::spawn([] { return 6 * 7; });
    auto b = weft::spawn([] {
      weft::this_fiber::sleep_for(5ms);
      return std::string("fiber");
    });
    auto c = weft::spawn([] {
      weft::this_fiber::yield();
      return std::make_unique<int>(9);
    });
    bool d_ran = false;
    weft::fiber<void> d = weft::spawn([&] { d_ran = true; });
    EXPECT_TRUE(a.joinable());
    EXPECT_EQ(a.join(), 42);
    EXPECT_FALSE(a.joinable());
    EXPECT_TRUE(a.done());
    EXPECT_EQ(b.join(), "fiber");
    auto p = c.join();
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 9);
    d.join();
    EXPECT_TRUE(d_ran);
  });
}

// Callables of several kinds can be spawned; a copied lvalue callable keeps
// its own state.
TEST(SpawnJoin, SpawnsAnyCallable) {
  weft::run([] {
    std::function<int()> fn = [] { return 3; };
    EXPECT_EQ(weft::spawn(fn).join(), 3);
    int (*fp)() = [] { return 4; };
    EXPECT_EQ(weft::spawn(fp).join(), 4);
    int counter = 10;
    auto mut = [counter]() mutable { return ++counter; };
    EXPECT_EQ(weft::spawn(mut).join(), 11);
    EXPECT_EQ(weft::spawn(mut).join(), 11);  // each spawn copied the lambda
  });
}

// join() rethrows what escaped the fiber, keeping its type and payload.
TEST(SpawnJoin, JoinRethrowsException) {
  weft::run([] {
    auto a = weft::spawn([]() -> int {
      weft::this_fiber::yield();
      throw coded_error("bad", 5);
    });
    try {
      a.join();
      FAIL() << "join did not throw";
    } catch (const coded_error& e) {
      EXPECT_STREQ(e.what(), "bad");
      EXPECT_EQ(e.code, 5);
    }
    EXPECT_FALSE(a.joinable());
    auto b = weft::spawn([] { throw 42; });
    try {
      b.join();
      FAIL() << "join did not throw";
    } catch (int v) {
      EXPECT_EQ(v, 42);
    }
  });
}

// Joining twice, after detach, or an empty handle is a usage_error; so are
// detach/cancel/done on such handles.
TEST(SpawnJoin, HandleMisuseIsUsageError) {
  weft::run([] {
    auto a = weft::spawn([] { return 1; });
    EXPECT_EQ(a.join(), 1);
    EXPECT_THROW(a.join(), weft::usage_error);
    EXPECT_THROW(a.detach(), weft::usage_error);
    EXPECT_TRUE(a.done());

    weft::event go;
    auto b = weft::spawn([&] { go.wait(); });
    b.detach();
    EXPECT_FALSE(b.joinable());
    EXPECT_THROW(b.join(), weft::usage_error);
    EXPECT_THROW(b.detach(), weft::usage_error);
    EXPECT_THROW(b.cancel(), weft::usage_error);
    EXPECT_THROW((void)b.done(), weft::usage_error);
    go.set();
    settle();

    weft::fiber<int> empty;
    EXPECT_FALSE(empty.joinable());
    EXPECT_EQ(empty.id(), 0u);
    EXPECT_THROW(empty.join(), weft::usage_error);
    EXPECT_THROW(empty.cancel(), weft::usage_error);
  });
}

// A fiber joining its own handle gets usage_error; the handle stays joinable
// for its real owner.
TEST(SpawnJoin, SelfJoinIsUsageError) {
  weft::run([] {
    weft::fiber<> self;
    weft::event handed;
    bool got_usage_error = false;
    auto f = weft::spawn([&] {
      handed.wait();
      try {
        self.join();
      } catch (const weft::usage_error&) {
        got_usage_error = true;
      }
    });
    self = std::move(f);
    handed.set();
    EXPECT_TRUE(eventually([&] { return self.done(); }));
    EXPECT_TRUE(self.joinable());
    self.join();
    EXPECT_TRUE(got_usage_error);
  });
}

// A second fiber joining the same handle while the first still waits is a
// usage_error; the first join still gets the result.
TEST(SpawnJoin, SecondConcurrentJoinIsUsageError) {
  weft::run([] {
    weft::event release;
    auto target = weft::spawn([&] {
      release.wait();
      return 7;
    });
    int first = 0;
    auto j1 = weft::spawn([&] { first = target.join(); });
    weft::this_fiber::yield();  // j1 now waits in join
    bool usage = false;
    auto j2 = weft::spawn([&] {
      try {
        target.join();
      } catch (const weft::usage_error&) {
        usage = true;
      }
    });
    j2.join();
    EXPECT_TRUE(usage);
    release.set();
    j1.join();
    EXPECT_EQ(first, 7);
  });
}

// spawn() outside run() — on the test thread or on a plain thread while
// another thread runs a scheduler — is a usage_error and runs nothing.
TEST(SpawnJoin, SpawnOutsideRunIsUsageError) {
  bool ran = false;
  EXPECT_THROW((void)weft::spawn([&] { ran = true; }), weft::usage_error);
  EXPECT_THROW((void)weft::spawn(weft::spawn_options{.name = "x"}, [&] { ran = true; }),
               weft::usage_error);
  weft::run([&] {
    bool thrown = false;
    std::thread t([&] {
      try {
        (void)weft::spawn([&] { ran = true; });
      } catch (const weft::usage_error&) {
        thrown = true;
      }
    });
    t.join();
    EXPECT_TRUE(thrown);
  });
  EXPECT_FALSE(ran);
}

// spawn() does not run the fiber right away: it is queued and runs once the
// spawner blocks or yields.
TEST(SpawnJoin, SpawnQueuesTheFiber) {
  weft::run([] {
    bool ran = false;
    auto f = weft::spawn([&] { ran = true; });
    EXPECT_FALSE(ran);
    EXPECT_FALSE(f.done());
    weft::this_fiber::yield();
    EXPECT_TRUE(ran);
    EXPECT_TRUE(f.done());
    f.join();
  });
}

// A failing copy of the callable makes spawn() throw; nothing leaks or runs.
TEST(SpawnJoin, SpawnPropagatesCallableCopyFailure) {
  weft::run([] {
    throwing_copy tc;
    EXPECT_THROW((void)weft::spawn(tc), std::runtime_error);
    EXPECT_EQ(weft::spawn([] { return 2; }).join(), 2);
  });
}

// Dropping an owned handle detaches the fiber; it still runs to completion.
// Move-assigning over an owned handle detaches the old fiber too.
TEST(SpawnJoin, DroppedHandleDetachesAndFiberCompletes) {
  weft::run([] {
    weft::event a_done, b_done;
    {
      auto f = weft::spawn([&] {
        weft::this_fiber::sleep_for(10ms);
        a_done.set();
      });
    }
    auto g = weft::spawn([&] {
      weft::this_fiber::sleep_for(10ms);
      b_done.set();
    });
    g = weft::spawn([] {});
    EXPECT_TRUE(a_done.wait_for(5s));
    EXPECT_TRUE(b_done.wait_for(5s));
    g.join();
  });
}

// An exception escaping a detached fiber (or one whose handle was dropped)
// does not end the process; it is reported on stderr with the fiber's name.
TEST(SpawnJoin, DetachedExceptionDoesNotKillProcess) {
  testing::internal::CaptureStderr();
  int after = weft::run([] {
    weft::event thrown1, thrown2;
    weft::spawn(weft::spawn_options{.name = "doomed-fiber"}, [&] {
      thrown1.set();
      throw std::runtime_error("detached boom");
    }).detach();
    {
      auto dropped = weft::spawn(weft::spawn_options{.name = "dropped-fiber"}, [&] {
        thrown2.set();
        throw std::runtime_error("dropped boom");
      });
    }
    thrown1.wait();
    thrown2.wait();
    settle();
    weft::this_fiber::sleep_for(10ms);
    return 5;
  });
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(after, 5);
  EXPECT_NE(err.find("doomed-fiber"), std::string::npos) << "stderr: " << err;
  EXPECT_NE(err.find("dropped-fiber"), std::string::npos) << "stderr: " << err;
}

// Fiber ids are non-zero, unique, match this_fiber::id() inside the fiber,
// and stay readable from the handle after join.
TEST(SpawnJoin, IdsAreUnique) {
  weft::run([] {
    constexpr int kN = 1000;
    std::vector<weft::fiber<weft::fiber_id>> fs;
    for (int i = 0; i < kN; ++i) fs.push_back(weft::spawn([] { return weft::this_fiber::id(); }));
    std::set<weft::fiber_id> ids{weft::this_fiber::id()};
    for (auto& f : fs) {
      weft::fiber_id from_handle = f.id();
      EXPECT_NE(from_handle, 0u);
      EXPECT_EQ(f.join(), from_handle);
      EXPECT_EQ(f.id(), from_handle);
      ids.insert(from_handle);
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kN + 1));
  });
}

// spawn_options::name is the fiber's name; unnamed fibers have "".
TEST(SpawnJoin, Names) {
  weft::run([] {
    auto named = weft::spawn(weft::spawn_options{.name = "worker-1"},
                             [] { return std::string(weft::this_fiber::name()); });
    auto unnamed = weft::spawn([] { return std::string(weft::this_fiber::name()); });
    EXPECT_EQ(named.join(), "worker-1");
    EXPECT_EQ(unnamed.join(), "");
    EXPECT_EQ(weft::this_fiber::name(), "main");
  });
}

// done() is false while the fiber runs or waits and true once it returned or
// threw; it never blocks.
TEST(SpawnJoin, DoneTracksCompletion) {
  weft::run([] {
    weft::event go;
    auto ok = weft::spawn([&] { go.wait(); });
    auto bad = weft::spawn([&] {
      go.wait();
      throw std::runtime_error("x");
    });
    settle();
    EXPECT_FALSE(ok.done());
    EXPECT_FALSE(bad.done());
    go.set();
    settle();
    EXPECT_TRUE(ok.done());
    EXPECT_TRUE(bad.done());
    ok.join();
    EXPECT_THROW(bad.join(), std::runtime_error);
  });
}

// Joining an already finished fiber returns at once with its result.
TEST(SpawnJoin, JoinFinishedFiber) {
  weft::run([] {
    auto f = weft::spawn([] { return 8; });
    settle();
    ASSERT_TRUE(f.done());
    auto t0 = steady::now();
    EXPECT_EQ(f.join(), 8);
    EXPECT_LT(elapsed_ms(t0), 1000.0);
  });
}

// Fibers spawn fibers: a tree of ~2000 fibers computes fib(16).
TEST(SpawnJoin, NestedSpawnTree) {
  EXPECT_EQ(weft::run([] { return fib(16); }), 987);
}

// A plain thread (not in any run) joins a fiber of another thread's run;
// the result and the blocking both cross threads.
TEST(SpawnJoin, JoinFromPlainThreadOnFiberOfAnotherThreadsRun) {
  std::promise<weft::fiber<int>> handed;
  weft::event release;
  std::thread runner([&] {
    weft::run([&] {
      handed.set_value(weft::spawn([] {
        weft::this_fiber::sleep_for(30ms);
        return 99;
      }));
      release.wait();
    });
  });
  weft::fiber<int> f = handed.get_future().get();
  auto t0 = steady::now();
  EXPECT_EQ(f.join(), 99);
  EXPECT_LT(elapsed_ms(t0), 2000.0);
  release.set();
  runner.join();
}

// A std::thread started by the root joins a fiber of the root's scheduler
// and sees its exception; the root waits for it with a weft event.
TEST(SpawnJoin, JoinFromStdThreadSeesException) {
  weft::run([] {
    auto f = weft::spawn([]() -> int {
      weft::this_fiber::sleep_for(20ms);
      throw coded_error("from fiber", 3);
    });
    weft::event joined;
    int code = 0;
    std::thread t([&] {
      try {
        f.join();
      } catch (const coded_error& e) {
        code = e.code;
      }
      joined.set();
    });
    EXPECT_TRUE(joined.wait_for(5s));
    t.join();
    EXPECT_EQ(code, 3);
  });
}

// A fiber of one scheduler joins a fiber of another scheduler.
TEST(SpawnJoin, JoinAcrossSchedulers) {
  std::promise<weft::fiber<int>> handed;
  weft::event a_may_exit;
  int got = 0;
  std::thread ta([&] {
    weft::run([&] {
      handed.set_value(weft::spawn([] {
        weft::this_fiber::sleep_for(30ms);
        return 5;
      }));
      a_may_exit.wait();
    });
  });
  std::thread tb([&] {
    weft::run([&] {
      auto f = handed.get_future().get();
      auto g = weft::spawn([f = std::move(f)]() mutable { return f.join() + 1; });
      got = g.join();
      a_may_exit.set();
    });
  });
  tb.join();
  ta.join();
  EXPECT_EQ(got, 6);
}

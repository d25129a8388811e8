// tests/test_dump.cpp — weft::dump(): one line per live fiber with id,
// name, state, wait reason and spawn location.
#include "helpers.hpp"

#include <mutex>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

using namespace weft_test;

namespace {
// lines_with(text, needle): the lines of text that contain needle.
std::vector<std::string> lines_with(const std::string& text, const std::string& needle) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find(needle) != std::string::npos) out.push_back(line);
  return out;
}

// line_of(text, name): the single line naming a fiber ("" and a failure if
// there is not exactly one).
std::string line_of(const std::string& text, const std::string& name) {
  auto ls = lines_with(text, name);
  EXPECT_EQ(ls.size(), 1u) << "fiber " << name << " in dump:\n" << text;
  return ls.size() == 1 ? ls[0] : std::string();
}

// has_word(line, w): w occurs in line as a whole token.
bool has_word(const std::string& line, const std::string& w) {
  return std::regex_search(line, std::regex("(^|[^0-9A-Za-z_])" + w + "($|[^0-9A-Za-z_])"));
}
}  // namespace

// Fibers parked in different waits are listed with their names, ids, wait
// reasons and the file that spawned them; finished fibers are not listed.
TEST(Dump, ListsFibersWithNamesAndWaitReasons) {
  weft::run([] {
    weft::channel<int> in, out;
    weft::event ev;
    weft::mutex m;
    auto nap = [] { weft::this_fiber::sleep_for(1h); };
    auto alpha = weft::spawn(weft::spawn_options{.name = "fib-alpha"}, nap);
    auto bravo = weft::spawn(weft::spawn_options{.name = "fib-bravo"}, [&] { (void)in.recv(); });
    auto charlie = weft::spawn(weft::spawn_options{.name = "fib-charlie"}, [&] { out.send(1); });
    auto delta = weft::spawn(weft::spawn_options{.name = "fib-delta"}, [&] { ev.wait(); });
    m.lock();
    auto echo = weft::spawn(weft::spawn_options{.name = "fib-echo"}, [&] { std::lock_guard g(m); });
    auto foxtrot = weft::spawn(weft::spawn_options{.name = "fib-foxtrot"}, nap);
    auto golf = weft::spawn(weft::spawn_options{.name = "fib-golf"},
                            [t = std::move(foxtrot)]() mutable { t.join(); });
    auto hotel = weft::spawn(weft::spawn_options{.name = "fib-hotel"}, [] {});
    hotel.join();
    settle();

    std::ostringstream os;
    weft::dump(os);
    const std::string text = os.str();
    auto mentions = [&](const char* name, const char* what) {
      return line_of(text, name).find(what) != std::string::npos;
    };
    EXPECT_TRUE(mentions("fib-alpha", "sleep")) << text;
    EXPECT_TRUE(mentions("fib-bravo", "channel")) << text;
    EXPECT_TRUE(mentions("fib-charlie", "channel")) << text;
    EXPECT_TRUE(mentions("fib-delta", "event")) << text;
    EXPECT_TRUE(mentions("fib-echo", "mutex")) << text;
    EXPECT_TRUE(mentions("fib-foxtrot", "sleep")) << text;
    EXPECT_TRUE(mentions("fib-golf", "join")) << text;
    EXPECT_TRUE(lines_with(text, "fib-hotel").empty()) << text;

    // ids and the spawn location are on each fiber's line
    EXPECT_TRUE(has_word(line_of(text, "fib-alpha"), std::to_string(alpha.id()))) << text;
    EXPECT_TRUE(has_word(line_of(text, "fib-bravo"), std::to_string(bravo.id()))) << text;
    EXPECT_TRUE(mentions("fib-alpha", "test_dump.cpp")) << text;

    // the root is listed too
    EXPECT_FALSE(lines_with(text, "main").empty()) << text;

    alpha.cancel();
    bravo.cancel();
    charlie.cancel();
    delta.cancel();
    golf.cancel();
    EXPECT_THROW(alpha.join(), weft::cancelled);
    EXPECT_THROW(bravo.join(), weft::cancelled);
    EXPECT_THROW(charlie.join(), weft::cancelled);
    EXPECT_THROW(delta.join(), weft::cancelled);
    EXPECT_THROW(golf.join(), weft::cancelled);
    m.unlock();
    echo.join();

    std::ostringstream after;
    weft::dump(after);
    EXPECT_TRUE(lines_with(after.str(), "fib-alpha").empty()) << after.str();
    EXPECT_TRUE(lines_with(after.str(), "fib-echo").empty()) << after.str();
  });
}

// Unnamed fibers are listed by id, one line each.
TEST(Dump, OneLinePerLiveFiber) {
  weft::run([] {
    weft::event go;
    std::vector<weft::fiber<>> fs;
    for (int i = 0; i < 50; ++i) fs.push_back(weft::spawn([&] { go.wait(); }));
    settle();
    std::ostringstream os;
    weft::dump(os);
    const std::string text = os.str();
    auto waiting = lines_with(text, "event");
    EXPECT_EQ(waiting.size(), 50u) << text;
    for (auto& f : fs) {
      bool found = false;
      for (auto& line : waiting) found = found || has_word(line, std::to_string(f.id()));
      EXPECT_TRUE(found) << "fiber " << f.id() << " in dump:\n" << text;
    }
    go.set();
    for (auto& f : fs) f.join();
  });
}

// dump() works from any fiber, not only the root.
TEST(Dump, CallableFromAnyFiber) {
  weft::run([] {
    auto f = weft::spawn(weft::spawn_options{.name = "dumper"}, [] {
      std::ostringstream os;
      weft::dump(os);
      return os.str();
    });
    std::string text = f.join();
    EXPECT_FALSE(lines_with(text, "dumper").empty()) << text;
    EXPECT_FALSE(lines_with(text, "main").empty()) << text;
  });
}

namespace {
// park_here_for_dump() parks the calling fiber on ev in a frame of its own,
// so the fiber's backtrace shows this name.
[[gnu::noinline]] void park_here_for_dump(weft::event& ev) {
  ev.wait();
  asm volatile("" ::: "memory");  // keep this frame (no tail call)
}
}  // namespace

// Waits are described precisely: the fd and direction, the fiber joined,
// the time left of a sleep, and how long each has waited.
TEST(Dump, DescribesWaitsPrecisely) {
  weft::run([] {
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    auto reader = weft::spawn(weft::spawn_options{.name = "fd-reader"},
                              [&] { weft::wait_io(p[0], weft::io_event::readable); });
    auto napper = weft::spawn(weft::spawn_options{.name = "napper"}, [] { weft::this_fiber::sleep_for(10s); });
    auto joiner = weft::spawn(weft::spawn_options{.name = "joiner"}, [&] { napper.join(); });
    settle();
    weft::this_fiber::sleep_for(30ms);
    std::ostringstream os;
    weft::dump(os);
    const std::string text = os.str();
    EXPECT_NE(line_of(text, "fd-reader").find("read fd " + std::to_string(p[0])), std::string::npos) << text;
    EXPECT_TRUE(std::regex_search(line_of(text, "napper"), std::regex("sleep [0-9]+ ms left"))) << text;
    EXPECT_NE(line_of(text, "joiner").find("join fiber " + std::to_string(napper.id())), std::string::npos) << text;
    std::smatch m;
    std::string nl = line_of(text, "napper");
    ASSERT_TRUE(std::regex_search(nl, m, std::regex("waiting ([0-9]+) ms"))) << text;
    EXPECT_GE(std::stoi(m[1]), 20) << text;
    reader.cancel();
    joiner.cancel();
    napper.cancel();
    EXPECT_THROW(reader.join(), weft::cancelled);
    EXPECT_THROW(joiner.join(), weft::cancelled);
    close(p[0]);
    close(p[1]);
  });
}

// With dump_detail::backtraces each suspended fiber's stack is unwound from
// its saved context: the frame that parked it is named.
TEST(Dump, BacktracesOfSuspendedFibers) {
  weft::run([] {
    weft::event ev;
    auto f = weft::spawn(weft::spawn_options{.name = "parked-deep"}, [&] { park_here_for_dump(ev); });
    settle();
    std::ostringstream os;
    weft::dump(os, weft::dump_detail::backtraces);
    const std::string text = os.str();
    auto pos = text.find("parked-deep");
    ASSERT_NE(pos, std::string::npos) << text;
    auto next = text.find("  fiber ", pos);
    std::string block = text.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    EXPECT_NE(block.find("park_here_for_dump"), std::string::npos) << text;
    EXPECT_NE(block.find("#0 0x"), std::string::npos) << text;
    ev.set();
    f.join();
  });
}

// tests/processes/test_processes.cpp — processes under the hooks (suite
// 'processes'): real programs started directly and under weft-run, in both
// thread modes, must give the same stdout, stderr and exit status.
//   * dash and bash scripts: command substitution 1,000 times, `yes | head
//     | wc`, background jobs and wait, a CHLD trap, `read -t`, statuses;
//   * fork/vfork/posix_spawn + pipe stress cycles (stress_cycle.h), under
//     weft-run and in linked mode (fibers of a weft::run);
//   * a static child (no weft in it) reading and writing pipes a weft-run
//     program made, and the F_GETFL flags a static child sees before and
//     after the parent's blocking I/O on fibers.
// Paths come from meson: WEFT_RUN, PROG_DIR, DASH, BASH.
#include "run_prog.hpp"
#include "watchdog.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using weft_test::env;
using weft_test::outcome;
using weft_test::run;

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// The ways a program is run: argv prefixes, and a name for messages.
struct way {
  const char* name;
  std::vector<std::string> prefix;
};
std::vector<way> weft_ways() {
  return {{"weft-run --threads=os", {env("WEFT_RUN"), "--threads=os", "--"}},
          {"weft-run --threads=fibers", {env("WEFT_RUN"), "--threads=fibers", "--"}}};
}

std::string prog(const char* name) { return env("PROG_DIR") + "/" + name; }

// same_everywhere() runs argv directly, then `repeat` times each way under
// weft-run; stdout, stderr and status must match the direct run's.
outcome same_everywhere(const std::vector<std::string>& argv, int repeat = 1, int limit_s = 60) {
  outcome plain = run(argv, {}, limit_s);
  for (const way& w : weft_ways())
    for (int i = 0; i < repeat; ++i) {
      outcome o = run(cat(w.prefix, argv), {}, limit_s);
      EXPECT_EQ(o.status, plain.status) << w.name << ", run " << i << ": " << o.err;
      EXPECT_EQ(o.out, plain.out) << w.name << ", run " << i;
      EXPECT_EQ(o.err, plain.err) << w.name << ", run " << i;
      if (o.out != plain.out || o.status != plain.status) break;
    }
  return plain;
}

// Each shell script, with the output the plain run must give (checked, so
// that a broken test machine cannot make both sides agree on nonsense).
struct script {
  const char* name;
  const char* text;
  const char* expect;  // nullptr: only compared with the plain run
};
const script scripts[] = {
    {"command substitution, 1,000 times",
     "i=0; while [ $i -lt 1000 ]; do x=$(echo $i); [ \"$x\" = \"$i\" ] || echo \"bad $i\"; i=$((i+1)); done; "
     "echo done $i",
     "done 1000\n"},
    {"yes | head -c 100000000 | wc -c", "yes | head -c 100000000 | wc -c", "100000000\n"},
    {"background jobs and wait",
     "sleep 0.05 & a=$!; (sleep 0.02; exit 3) & b=$!; wait $b; echo b=$?; wait $a; echo a=$?; "
     "true & false & wait; echo all=$?",
     "b=3\na=0\nall=0\n"},
    {"a CHLD trap", "trap 'echo chld' CHLD; sleep 0.01; echo after; trap - CHLD", nullptr},
    {"read -t and a slow writer", "(sleep 0.3; echo late) | { read -t 0.05 x; echo \"rc=$? x=$x\"; cat; }", nullptr},
    {"exit statuses", "false | true; echo $?; (exit 7); echo $?; sh -c 'kill -TERM $$'; echo $?", nullptr},
    {"here-document through a pipeline", "cat <<EOF | tr a-z A-Z | sed s/L/l/\nhello\nworld\nEOF\n", "HElLO\nWORlD\n"},
};

void shell_cases(const std::string& shell) {
  ASSERT_FALSE(shell.empty());
  for (const script& s : scripts) {
    SCOPED_TRACE(shell + ": " + s.name);
    outcome plain = same_everywhere({shell, "-c", s.text}, 3);
    if (s.expect) {
      EXPECT_EQ(plain.out, s.expect);
    }
  }
}

TEST(Shells, Dash) { shell_cases(env("DASH")); }
TEST(Shells, Bash) { shell_cases(env("BASH")); }

// The racy one: command substitution returns when the child's EOF arrives.
TEST(Shells, CommandSubstitutionNeverHangs) {
  for (const way& w : weft_ways())
    for (const std::string& sh : {env("DASH"), env("BASH")}) {
      outcome o = run(cat(w.prefix, {sh, "-c", "for i in $(seq 300); do x=$(/bin/echo $i); done; echo $x"}));
      EXPECT_EQ(o.out, "300\n") << w.name << " " << sh << ": " << o.err;
    }
}

// 5,000 cycles of fork / vfork / posix_spawn with pipe I/O both ways,
// random sleeps, exit and wait, in every mode.
TEST(ForkStress, FiveThousandCyclesUnderWeftRun) {
  outcome plain = same_everywhere({prog("fork_stress"), "5000", "42"}, 1, 240);
  EXPECT_EQ(plain.out, "cycles=5000 failures=0\n");
}

TEST(ForkStress, EachWayAlone) {
  for (const char* mode : {"0", "1", "2"}) {
    outcome plain = same_everywhere({prog("fork_stress"), "300", "7", mode}, 1, 120);
    EXPECT_EQ(plain.out, "cycles=300 failures=0\n") << "mode " << mode;
  }
}

TEST(ForkStress, FiveThousandCyclesLinked) {
  outcome o = run({prog("fork_stress_linked"), "5000", "42"}, {}, 240);
  EXPECT_EQ(o.status, 0) << o.err;
  EXPECT_EQ(o.out, "cycles=5000 failures=0\n") << o.err;
  outcome two = run({prog("fork_stress_linked"), "2000", "43"}, {"WEFT_WORKERS=2"}, 240);
  EXPECT_EQ(two.status, 0) << two.err;
  EXPECT_EQ(two.out, "cycles=2000 failures=0\n") << two.err;
}

// A static child sees the parent's pipes as the parent made them, and can
// read and write them with plain blocking calls.
TEST(StaticChild, PipesAndFlagsAreThePrograms) {
  outcome plain = same_everywhere({prog("pipe_parent"), prog("static_peer"), prog("flag_probe")}, 5);
  EXPECT_EQ(plain.status, 0) << plain.err;
  EXPECT_NE(plain.out.find("peer: bytes=8388608 ok status=0"), std::string::npos) << plain.out;
  // Before and after the fibers' blocking reads: the same, never non-blocking.
  EXPECT_EQ(plain.out.find("nonblock"), std::string::npos) << plain.out;
  std::size_t nl = plain.out.find('\n');
  ASSERT_NE(nl, std::string::npos);
  EXPECT_NE(plain.out.find(plain.out.substr(0, nl + 1), nl + 1), std::string::npos) << plain.out;
}

}  // namespace

// samples/common/args.hpp — the few command-line flags the samples share.
//
// Flags are "--name value" or "--name=value"; every value is a number unless
// read with str(). A bad or unknown flag prints the usage line and exits 2,
// so a sample never runs with a setting it did not understand.
#pragma once
#include <string>
#include <vector>

namespace samples {

class args {
 public:
  // args(argc, argv, usage) keeps argv; usage is printed on a bad flag.
  args(int argc, char** argv, std::string usage);

  // num(name, def, lo, hi) is flag --name as a number in [lo, hi], or def
  // when absent; exits 2 when present but not such a number.
  long num(const char* name, long def, long lo, long hi);
  // str(name, def) is flag --name's text, or def when absent.
  std::string str(const char* name, const std::string& def);
  // has(name) is true when the value-less flag --name is given.
  bool has(const char* name);
  // done() exits 2 if any flag was not read by num/str/has (a typo).
  void done();

 private:
  struct flag {
    std::string name, value;
    bool has_value = false, used = false;
  };
  std::vector<flag> flags_;
  std::string prog_, usage_;
  flag* find(const char* name);
  [[noreturn]] void bad(const std::string& why);
};

}  // namespace samples

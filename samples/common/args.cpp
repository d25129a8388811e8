// samples/common/args.cpp — flag parsing for the samples (see args.hpp).
#include "args.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace samples {

args::args(int argc, char** argv, std::string usage) : prog_(argv[0]), usage_(std::move(usage)) {
  if (auto slash = prog_.rfind('/'); slash != std::string::npos) prog_.erase(0, slash + 1);
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::printf("usage: %s %s\n", prog_.c_str(), usage_.c_str());
      std::exit(0);
    }
    if (a.size() < 3 || a.compare(0, 2, "--") != 0) bad("unexpected argument '" + a + "'");
    flag f;
    if (auto eq = a.find('='); eq != std::string::npos) {
      f.name = a.substr(2, eq - 2);
      f.value = a.substr(eq + 1);
      f.has_value = true;
    } else {
      f.name = a.substr(2);
      // A following word that is not itself a flag is this flag's value.
      if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) {
        f.value = argv[++i];
        f.has_value = true;
      }
    }
    flags_.push_back(std::move(f));
  }
}

args::flag* args::find(const char* name) {
  flag* found = nullptr;
  for (flag& f : flags_)
    if (f.name == name) found = &f;  // the last one wins, as in most tools
  if (found)
    for (flag& f : flags_)
      if (f.name == name) f.used = true;
  return found;
}

void args::bad(const std::string& why) {
  std::fprintf(stderr, "%s: %s\nusage: %s %s\n", prog_.c_str(), why.c_str(), prog_.c_str(), usage_.c_str());
  std::exit(2);
}

long args::num(const char* name, long def, long lo, long hi) {
  flag* f = find(name);
  if (!f) return def;
  if (!f->has_value) bad(std::string("--") + name + " needs a value");
  errno = 0;
  char* end = nullptr;
  long v = std::strtol(f->value.c_str(), &end, 10);
  if (errno || end == f->value.c_str() || *end || v < lo || v > hi)
    bad(std::string("--") + name + " wants a number in [" + std::to_string(lo) + ", " + std::to_string(hi) +
        "], not '" + f->value + "'");
  return v;
}

std::string args::str(const char* name, const std::string& def) {
  flag* f = find(name);
  if (!f) return def;
  if (!f->has_value) bad(std::string("--") + name + " needs a value");
  return f->value;
}

bool args::has(const char* name) {
  flag* f = find(name);
  if (f && f->has_value) bad(std::string("--") + name + " takes no value");
  return f != nullptr;
}

void args::done() {
  for (const flag& f : flags_)
    if (!f.used) bad("unknown flag --" + f.name);
}

}  // namespace samples

// tests/stderr_capture.hpp — capture what the process writes to fd 2 (the
// runtime's reports go there with write(2), not through std::cerr).
#pragma once
#include <stdio.h>
#include <unistd.h>

#include <string>

namespace weft_test {

// stderr_capture redirects fd 2 to a temporary file from construction until
// text() is called (or destruction); peek() reads it meanwhile. Callable
// from any thread; not nestable.
class stderr_capture {
  int saved_ = -1;
  FILE* file_ = nullptr;

 public:
  stderr_capture() {
    file_ = tmpfile();
    fflush(stderr);
    saved_ = dup(2);
    dup2(fileno(file_), 2);
  }
  // text() restores fd 2 and returns everything written meanwhile.
  std::string text() {
    if (saved_ >= 0) {
      fflush(stderr);
      dup2(saved_, 2);
      close(saved_);
      saved_ = -1;
    }
    return peek();
  }
  // peek() returns what was written so far, leaving the capture on.
  std::string peek() {
    fflush(stderr);
    std::string out;
    rewind(file_);
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, file_)) > 0;) out.append(buf, n);
    return out;
  }
  ~stderr_capture() {
    text();
    fclose(file_);
  }
  stderr_capture(const stderr_capture&) = delete;
  stderr_capture& operator=(const stderr_capture&) = delete;
};

}  // namespace weft_test

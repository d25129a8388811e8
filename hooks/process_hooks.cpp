// hooks/process_hooks.cpp — making processes: vfork, fork, _Fork, clone,
// posix_spawn, posix_spawnp and the exec family.
//
// vfork() children share the parent's memory, TLS included, until they
// exec or exit. The hooks' vfork is glibc's stub (the return address is
// kept in a register: the child's frames overwrite the caller's stack) with
// rt::tl_vfork raised around the syscall, so that in the child every hook
// passes straight through and nothing the parent owns changes (the fd
// registry, the pollers, the children list). clone(CLONE_VM | CLONE_VFORK)
// gets the same treatment; other CLONE_VM children must not call hooked fd
// functions (docs/hooks.md). posix_spawn's child runs glibc's own code only.
// _Fork (fork without the atfork handlers) gets the runtime's child
// handling anyway.
//
// Every child a hook creates is recorded (rt::child_started), so that a
// wait for any child can watch it (wait_hooks.cpp). A program started from
// a worker carrier (which blocks asynchronous signals) or from a thread
// fiber (which keeps a mask of its own) gets the signal mask that thread
// would have (rt::exec_sigmask): posix_spawn, vfork and the exec family
// here, fork in the runtime's fork handler.
#include "hook_core.hpp"

#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace rt = weft::rt;

namespace {
// The kernel mask the caller had before weft_vfork_enter() changed it.
__attribute__((tls_model("initial-exec"))) thread_local sigset_t tl_vfork_saved;
__attribute__((tls_model("initial-exec"))) thread_local bool tl_vfork_changed = false;
}  // namespace

// weft_vfork_enter() gives the thread, for the vfork syscall, the signal
// mask the child must inherit (the calling fiber's own, rt::exec_sigmask).
// weft_vfork_leave() restores the parent's. Called by the stub only.
extern "C" __attribute__((visibility("hidden"), used)) void weft_vfork_enter() {
  sigset_t want;
  rt::exec_sigmask(&want);
  rt::real_sigmask(&tl_vfork_saved);
  tl_vfork_changed = std::memcmp(&want, &tl_vfork_saved, sizeof want) != 0;
  if (tl_vfork_changed) rt::apply_sigmask(&want);
}
extern "C" __attribute__((visibility("hidden"), used)) void weft_vfork_leave() {
  if (tl_vfork_changed) rt::apply_sigmask(&tl_vfork_saved);
  tl_vfork_changed = false;
}

// weft_vfork_failed() ends a failed vfork: errno, -1. Called by the stub only.
extern "C" __attribute__((visibility("hidden"), used)) long weft_vfork_failed(long err) {
  errno = static_cast<int>(err);
  return -1;
}

// vfork and __vfork (x86-64). The parent lowers the flag and gets its mask
// back when it resumes (stack: 16-byte aligned at each call).
asm(R"(
  .text
  .globl vfork
  .type vfork, @function
  .globl __vfork
  .type __vfork, @function
  .p2align 4
vfork:
__vfork:
  subq $8, %rsp
  call weft_vfork_enter
  addq $8, %rsp
  popq %rdi
  movq weft_tl_vfork@gottpoff(%rip), %rsi
  incl %fs:(%rsi)
  movl $58, %eax
  syscall
  pushq %rdi
  testq %rax, %rax
  jz 1f
  movq weft_tl_vfork@gottpoff(%rip), %rsi
  decl %fs:(%rsi)
  pushq %rax
  call weft_vfork_leave
  popq %rax
  cmpq $-4095, %rax
  jae 2f
1:
  ret
2:
  negq %rax
  movq %rax, %rdi
  jmp weft_vfork_failed
  .size vfork, .-vfork
  .size __vfork, .-__vfork
)");

WEFT_HOOK pid_t fork() {
  pid_t r = WEFT_REAL(fork)();
  if (r > 0) rt::child_started(r);
  return r;
}

// _Fork() (glibc 2.34) is fork without the atfork handlers; the runtime's
// own child handling must run all the same.
WEFT_HOOK pid_t _Fork() {
  pid_t r = WEFT_REAL_AS(pid_t (*)(), "_Fork")();
  if (r == 0) rt::after_fork_child();
  else if (r > 0) rt::child_started(r);
  return r;
}

namespace {

// exec_with() runs an exec call with the signal mask the calling thread
// (fiber) has, which the new program inherits; if the exec fails, the
// carrier's mask comes back.
template <class F>
int exec_with(F&& exec) {
  sigset_t want, now;
  rt::exec_sigmask(&want);
  rt::real_sigmask(&now);
  bool change = std::memcmp(&want, &now, sizeof want) != 0;
  if (change) rt::apply_sigmask(&want);
  int r = exec();
  int e = errno;
  if (change) rt::apply_sigmask(&now);
  errno = e;
  return r;
}

// collect() gathers execl-style arguments (arg0, ..., NULL [, envp]).
std::vector<char*> collect(const char* arg0, va_list ap, char*** envp) {
  std::vector<char*> v{const_cast<char*>(arg0)};
  while (char* a = va_arg(ap, char*)) v.push_back(a);
  v.push_back(nullptr);
  if (envp) *envp = va_arg(ap, char**);
  return v;
}

}  // namespace

WEFT_HOOK int execve(const char* path, char* const argv[], char* const envp[]) {
  return exec_with([&] { return WEFT_REAL(execve)(path, argv, envp); });
}

WEFT_HOOK int execv(const char* path, char* const argv[]) {
  return exec_with([&] { return WEFT_REAL(execv)(path, argv); });
}

WEFT_HOOK int execvp(const char* file, char* const argv[]) {
  return exec_with([&] { return WEFT_REAL(execvp)(file, argv); });
}

WEFT_HOOK int execvpe(const char* file, char* const argv[], char* const envp[]) {
  return exec_with([&] { return WEFT_REAL(execvpe)(file, argv, envp); });
}

WEFT_HOOK int fexecve(int fd, char* const argv[], char* const envp[]) {
  return exec_with([&] { return WEFT_REAL(fexecve)(fd, argv, envp); });
}

WEFT_HOOK int execl(const char* path, const char* arg0, ...) {
  va_list ap;
  va_start(ap, arg0);
  std::vector<char*> v = collect(arg0, ap, nullptr);
  va_end(ap);
  return execv(path, v.data());
}

WEFT_HOOK int execlp(const char* file, const char* arg0, ...) {
  va_list ap;
  va_start(ap, arg0);
  std::vector<char*> v = collect(arg0, ap, nullptr);
  va_end(ap);
  return execvp(file, v.data());
}

WEFT_HOOK int execle(const char* path, const char* arg0, ...) {
  va_list ap;
  va_start(ap, arg0);
  char** envp = nullptr;
  std::vector<char*> v = collect(arg0, ap, &envp);
  va_end(ap);
  return execve(path, v.data(), envp);
}

// clone(fn, stack, flags, arg, ...ptid, tls, ctid).
WEFT_HOOK int clone(int (*fn)(void*), void* stack, int flags, void* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  void* ptid = va_arg(ap, void*);
  void* tls = va_arg(ap, void*);
  void* ctid = va_arg(ap, void*);
  va_end(ap);
  // A CLONE_VM | CLONE_VFORK child borrows this thread's memory and TLS
  // while the caller is suspended, exactly like a vfork child.
  bool borrowed = (flags & CLONE_VM) && (flags & CLONE_VFORK) && !(flags & CLONE_SETTLS);
  if (borrowed) ++rt::tl_vfork;
  int r = WEFT_REAL_AS(int (*)(int (*)(void*), void*, int, void*, ...), "clone")(fn, stack, flags, arg, ptid, tls,
                                                                                ctid);
  if (borrowed) --rt::tl_vfork;
  if (r > 0 && !(flags & CLONE_THREAD)) rt::child_started(r);
  return r;
}

namespace {

using spawn_fn = int (*)(pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*,
                         char* const[], char* const[]);

// spawn() is posix_spawn/posix_spawnp (`real`): unless the attributes set a
// signal mask, the child gets the one a program thread would have here.
int spawn(spawn_fn real, pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa,
          const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  pid_t child = 0;
  short fl = 0;
  if (attr) posix_spawnattr_getflags(attr, &fl);
  sigset_t want, now;
  rt::exec_sigmask(&want);
  rt::real_sigmask(&now);  // glibc's child inherits the kernel's mask
  int r;
  if (!(fl & POSIX_SPAWN_SETSIGMASK) && std::memcmp(&want, &now, sizeof want) != 0) {
    posix_spawnattr_t a;
    if (attr) std::memcpy(&a, attr, sizeof a);  // a plain struct in glibc
    else posix_spawnattr_init(&a);
    posix_spawnattr_setflags(&a, static_cast<short>(fl | POSIX_SPAWN_SETSIGMASK));
    posix_spawnattr_setsigmask(&a, &want);
    r = real(&child, path, fa, &a, argv, envp);
  } else {
    r = real(&child, path, fa, attr, argv, envp);
  }
  if (r == 0) {
    rt::child_started(child);
    if (pid) *pid = child;
  }
  return r;
}

}  // namespace

WEFT_HOOK int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* fa,
                          const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  return spawn(WEFT_REAL(posix_spawn), pid, path, fa, attr, argv, envp);
}

WEFT_HOOK int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* fa,
                           const posix_spawnattr_t* attr, char* const argv[], char* const envp[]) {
  return spawn(WEFT_REAL(posix_spawnp), pid, file, fa, attr, argv, envp);
}

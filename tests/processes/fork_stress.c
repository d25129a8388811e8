/* tests/processes/fork_stress.c — fork/vfork/posix_spawn + pipe stress, a
 * plain C program (no weft include) run directly and under weft-run:
 *   fork_stress CYCLES SEED [MODE]   MODE: 0 fork, 1 vfork, 2 spawn, -1 mixed
 * prints "cycles=N failures=0" and exits 0 when every cycle checked out
 * (stress_cycle.h says what a cycle does). "fork_stress child ..." is the
 * exec'd child. */
#include "stress_cycle.h"

int main(int argc, char** argv) {
  if (argc >= 4 && strcmp(argv[1], "child") == 0) stress_child_body(atoi(argv[2]), strtoull(argv[3], NULL, 10));
  if (argc < 3) {
    fprintf(stderr, "usage: fork_stress CYCLES SEED [MODE]\n");
    return 2;
  }
  int cycles = atoi(argv[1]);
  uint64_t s = strtoull(argv[2], NULL, 10) | 1;
  int mode = argc > 3 ? atoi(argv[3]) : -1;
  int failures = 0;
  for (int i = 0; i < cycles; ++i) {
    const char* err = stress_cycle(argv[0], mode >= 0 ? mode : (int)(stress_rand(&s) % 3), &s);
    if (err) {
      if (failures++ < 5) fprintf(stderr, "cycle %d: %s\n", i, err);
    }
  }
  printf("cycles=%d failures=%d\n", cycles, failures);
  return failures != 0;
}

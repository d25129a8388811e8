/* tests/hooks/static_prog.c — a statically linked program: weft-run must
 * refuse it (LD_PRELOAD cannot reach it). */
int main(void) { return 0; }

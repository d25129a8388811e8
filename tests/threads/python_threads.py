# tests/threads/python_threads.py — Debian python3 threading (GIL condvars, locks
# with timeouts, Event): 50 sleeping threads overlap; run with and without weft-run.
import threading, queue, time, socket
q = queue.Queue()
def work(i):
    time.sleep(0.05)
    q.put(i * i)
ts = [threading.Thread(target=work, args=(i,)) for i in range(50)]
t0 = time.monotonic()
for t in ts: t.start()
for t in ts: t.join()
print(sorted(q.get() for _ in range(50))[:5], "concurrent", time.monotonic() - t0 < 1.0)
ev = threading.Event()
def setter(): time.sleep(0.02); ev.set()
threading.Thread(target=setter).start()
print("event", ev.wait(2))
lock = threading.Lock(); print("lock timeout", lock.acquire() and not lock.acquire(timeout=0.05))

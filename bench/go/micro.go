// bench/go/micro.go — the weft micro benchmarks, same operations and shape,
// on goroutines (the Go peer for bench/weft_micro.cpp). Standalone main
// package with no imports outside the standard library; run it with
// GOMAXPROCS=1 (bench/run_micro.sh does) so it uses one core like weft.
//
// Prints one JSON object: {"benchmarks":[{"name":..., "ns_per_op":...}, ...]}
// (idle_fibers also has "bytes_per_fiber"), the shape run_micro.sh parses.
//
// Flags: -min_time seconds per benchmark (0.5), -idle_fibers N (1000000).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

const batch = 10000 // fibers per batch in spawn10k_join

// result is one benchmark's line in the JSON output.
type result struct {
	Name          string  `json:"name"`
	NsPerOp       float64 `json:"ns_per_op"`
	CPUNsPerOp    float64 `json:"cpu_ns_per_op"`
	Ops           int64   `json:"ops"`
	BytesPerFiber float64 `json:"bytes_per_fiber,omitempty"`
	Fibers        int64   `json:"fibers,omitempty"`
	StackBytes    float64 `json:"go_stack_inuse_per_fiber,omitempty"`
}

// rssBytes is the resident set size from /proc/self/statm.
func rssBytes() int64 {
	b, err := ioutil.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// cpuNs is the process's CPU time (CLOCK_PROCESS_CPUTIME_ID), as in the
// C++ peers: on a shared machine it leaves out time other processes ran.
func cpuNs() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 2, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// clocks is a start point on both clocks.
type clocks struct {
	wall time.Time
	cpu  int64
}

func begin() clocks { return clocks{time.Now(), cpuNs()} }

// elapsed is the wall and CPU time since c.
type elapsed struct {
	wall time.Duration
	cpu  int64
}

func (c clocks) since() elapsed {
	w := time.Since(c.wall)
	return elapsed{w, cpuNs() - c.cpu}
}

// A benchmark body runs n iterations and returns the time it took and the
// number of operations it did.
type body func(n int) (elapsed, int64)

// measure grows n like Google Benchmark until one run takes minTime.
func measure(name string, minTime time.Duration, b body) result {
	n := 1
	for {
		el, ops := b(n)
		if el.wall >= minTime || n >= 1e9 {
			return result{Name: name, NsPerOp: float64(el.wall.Nanoseconds()) / float64(ops),
				CPUNsPerOp: float64(el.cpu) / float64(ops), Ops: ops}
		}
		mult := 10.0
		if el.wall > 0 {
			mult = 1.4 * float64(minTime) / float64(el.wall)
			if mult > 10 {
				mult = 10
			}
		}
		next := int(float64(n) * mult)
		if next <= n {
			next = n + 1
		}
		n = next
	}
}

var other int64 // partner's count in yield / mutex_handoff

// yield: main and one partner goroutine both loop on runtime.Gosched();
// ns per yield, counting both.
func benchYield(n int) (elapsed, int64) {
	var stop int32
	done := make(chan struct{})
	atomic.StoreInt64(&other, 0)
	go func() {
		for atomic.LoadInt32(&stop) == 0 {
			runtime.Gosched()
			other++
		}
		close(done)
	}()
	runtime.Gosched()
	o0 := atomic.LoadInt64(&other)
	t0 := begin()
	for i := 0; i < n; i++ {
		runtime.Gosched()
	}
	el := t0.since()
	ops := int64(n) + atomic.LoadInt64(&other) - o0
	atomic.StoreInt32(&stop, 1)
	<-done
	return el, ops
}

// spawn_join: start one empty goroutine and wait for it (WaitGroup).
func benchSpawnJoin(n int) (elapsed, int64) {
	var wg sync.WaitGroup
	t0 := begin()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() { wg.Done() }()
		wg.Wait()
	}
	return t0.since(), int64(n)
}

// spawn10k_join: start 10,000 empty goroutines, then wait for all; ns each.
// One untimed batch first, as in the C++ peers.
func benchSpawn10k(n int) (elapsed, int64) {
	var wg sync.WaitGroup
	wg.Add(batch) // one untimed warm-up batch
	for j := 0; j < batch; j++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	t0 := begin()
	for i := 0; i < n; i++ {
		wg.Add(batch)
		for j := 0; j < batch; j++ {
			go func() { wg.Done() }()
		}
		wg.Wait()
	}
	return t0.since(), int64(n) * batch
}

// channel_round_trip: ping over one unbuffered channel, pong over another.
func benchChannel(n int) (elapsed, int64) {
	ping, pong := make(chan int), make(chan int)
	done := make(chan struct{})
	go func() {
		for v := range ping {
			pong <- v
		}
		close(done)
	}()
	t0 := begin()
	for i := 0; i < n; i++ {
		ping <- 1
		<-pong
	}
	el := t0.since()
	close(ping)
	<-done
	return el, int64(n)
}

// select_round_trip: channel_round_trip with every receive a two-case
// select (the value's channel and a quit channel), as in weft_micro.cpp.
func benchSelect(n int) (elapsed, int64) {
	ping, pong, quit := make(chan int), make(chan int), make(chan int)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case v := <-ping:
				pong <- v
			case <-quit:
				close(done)
				return
			}
		}
	}()
	t0 := begin()
	for i := 0; i < n; i++ {
		ping <- 1
		select {
		case <-pong:
		case <-quit:
			panic("quit")
		}
	}
	el := t0.since()
	close(quit)
	<-done
	return el, int64(n)
}

// mutex_handoff: main and a partner each loop
// { Lock(); Gosched(); Unlock(); Gosched() } on one sync.Mutex; ns per
// critical section, counting both (see bench/weft_micro.cpp).
func benchMutex(n int) (elapsed, int64) {
	var mu sync.Mutex
	var stop int32
	done := make(chan struct{})
	atomic.StoreInt64(&other, 0)
	go func() {
		for atomic.LoadInt32(&stop) == 0 {
			mu.Lock()
			runtime.Gosched()
			mu.Unlock()
			runtime.Gosched()
			other++
		}
		close(done)
	}()
	runtime.Gosched()
	o0 := atomic.LoadInt64(&other)
	t0 := begin()
	for i := 0; i < n; i++ {
		mu.Lock()
		runtime.Gosched()
		mu.Unlock()
		runtime.Gosched()
	}
	el := t0.since()
	ops := int64(n) + atomic.LoadInt64(&other) - o0
	atomic.StoreInt32(&stop, 1)
	<-done
	return el, ops
}

// idle_fibers: n goroutines each block receiving on one channel; RSS delta
// once all are parked, divided by n.
func benchIdle(n int64) result {
	ch := make(chan struct{})
	var started int64
	var wg sync.WaitGroup
	runtime.GC()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	r0 := rssBytes()
	t0 := begin()
	wg.Add(int(n))
	for i := int64(0); i < n; i++ {
		go func() {
			atomic.AddInt64(&started, 1)
			<-ch
			wg.Done()
		}()
	}
	for atomic.LoadInt64(&started) < n {
		runtime.Gosched()
	}
	el := t0.since()
	r1 := rssBytes()
	runtime.ReadMemStats(&ms1)
	close(ch)
	wg.Wait()
	return result{
		Name:          "idle_fibers",
		NsPerOp:       float64(el.wall.Nanoseconds()) / float64(n),
		CPUNsPerOp:    float64(el.cpu) / float64(n),
		Ops:           n,
		BytesPerFiber: float64(r1-r0) / float64(n),
		Fibers:        n,
		StackBytes:    float64(ms1.StackInuse-ms0.StackInuse) / float64(n),
	}
}

func main() {
	minTime := flag.Float64("min_time", 0.5, "seconds per benchmark")
	idle := flag.Int64("idle_fibers", 1000000, "goroutines in idle_fibers")
	flag.Parse()
	if *idle < 1 {
		*idle = 1
	}
	mt := time.Duration(*minTime * float64(time.Second))
	out := struct {
		Context    map[string]string `json:"context"`
		Benchmarks []result          `json:"benchmarks"`
	}{Context: map[string]string{
		"go_version": runtime.Version(),
		"gomaxprocs": strconv.Itoa(runtime.GOMAXPROCS(0)),
	}}
	out.Benchmarks = append(out.Benchmarks, benchIdle(*idle))
	out.Benchmarks = append(out.Benchmarks,
		measure("yield", mt, benchYield),
		measure("spawn_join", mt, benchSpawnJoin),
		measure("spawn10k_join", mt, benchSpawn10k),
		measure("channel_round_trip", mt, benchChannel),
		measure("select_round_trip", mt, benchSelect),
		measure("mutex_handoff", mt, benchMutex))
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

/* bench/tools/xcore.c — how far apart the caches of CPUs 0 and 1 are.
 * Prints one line: the round trip of a cache line between a thread on CPU 0 and one on CPU 1
 * (each waits for the other's write, then writes), and the rate at which the thread on CPU 1
 * reads 1 MB of lines the thread on CPU 0 has just written. Threads that share a batch's data
 * (nnc train --threads 2, mpirun over shared memory) pay these on every step; two cores
 * under one L3 answer in about 100 ns, cores on different dies several times that.
 * Build: gcc -O2 -pthread -o xcore xcore.c */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { TRIPS = 200000, BYTES = 1 << 20, READS = 100 };

static _Atomic long flag __attribute__((aligned(64)));
static unsigned char buf[BYTES] __attribute__((aligned(64)));

static int pin(int cpu) {
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  return pthread_setaffinity_np(pthread_self(), sizeof s, &s);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void wait_for(long v) {
  while (atomic_load_explicit(&flag, memory_order_acquire) != v) {
  }
}

static void post(long v) { atomic_store_explicit(&flag, v, memory_order_release); }

/* CPU 1: answers each odd value with the next even one; then reads buf each time it is
 * told to (flag −1 − 2r) and says when it is done (−2 − 2r). */
static void *answer(void *arg) {
  (void)arg;
  if (pin(1)) return (void *)1;
  for (long i = 0; i < TRIPS; i++) {
    wait_for(2 * i + 1);
    post(2 * i + 2);
  }
  unsigned sum = 0;
  for (long r = 0; r < READS; r++) {
    wait_for(-1 - 2 * r);
    for (int i = 0; i < BYTES; i += 64) sum += ((volatile unsigned char *)buf)[i];
    post(-2 - 2 * r);
  }
  return (void *)(long)(sum & 0);
}

int main(void) {
  pthread_t t;
  if (pin(0) || pthread_create(&t, NULL, answer, NULL)) {
    printf("cross-core: not measured (needs CPUs 0 and 1)\n");
    return 0;
  }
  double t0 = now();
  for (long i = 0; i < TRIPS; i++) {
    post(2 * i + 1);
    wait_for(2 * i + 2);
  }
  double trip = (now() - t0) / TRIPS, read = 0;
  for (long r = 0; r < READS; r++) {
    memset(buf, (int)r, sizeof buf);
    double a = now();
    post(-1 - 2 * r);
    wait_for(-2 - 2 * r);
    read += now() - a;
  }
  void *failed;
  pthread_join(t, &failed);
  if (failed) {
    printf("cross-core: not measured (needs CPUs 0 and 1)\n");
    return 0;
  }
  printf("cross-core: round trip %.0f ns; 1 MB written on CPU 0 read on CPU 1 at %.1f GB/s\n", trip * 1e9,
         (double)READS * BYTES / read / 1e9);
  return 0;
}

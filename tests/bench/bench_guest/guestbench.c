/* make bench-guest: the program the benchmark guest runs as soon as its kernel starts.
 *
 * Three measurements, printed on the console as one "BENCH key=value ..." line:
 *  - chase_ns: a random pointer chase over WORKING_SET MiB, one pointer per 64-byte line in a random
 *    cyclic order (Sattolo's shuffle), nanoseconds per dependent load: TLB- and cache-miss bound, the
 *    load that hugepages and strict NUMA binding speed up;
 *  - copy_mib_s: memcpy bandwidth between two 32 MiB buffers, MiB/s;
 *  - wake_us_p50, wake_us_p99, wake_us_max: how late a thread wakes from a 200 us absolute sleep
 *    (cyclictest's measurement), microseconds: what vCPU pinning and a quiet host CPU improve.
 *
 * Usage: guestbench [WORKING_SET_MIB [CHASE_LOADS [WAKEUPS]]]; static, no libc beyond what glibc links in.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LINE 64

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t next_random(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static int compare_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double chase(size_t mib, long loads) {
    size_t lines = mib * 1024 * 1024 / LINE;
    char *area = aligned_alloc(2 * 1024 * 1024, lines * LINE);
    uint32_t *order = malloc(lines * sizeof(uint32_t));
    if (!area || !order) { printf("BENCH error=out-of-memory\n"); return -1; }
    for (size_t i = 0; i < lines; i++) order[i] = (uint32_t)i;
    for (size_t i = lines - 1; i > 0; i--) { /* Sattolo: one cycle through every line */
        size_t j = next_random() % i;
        uint32_t t = order[i]; order[i] = order[j]; order[j] = t;
    }
    for (size_t i = 0; i < lines; i++)
        *(void **)(area + (size_t)order[i] * LINE) = area + (size_t)order[(i + 1) % lines] * LINE;
    free(order);
    void **p = (void **)area;
    for (long i = 0; i < loads / 4; i++) p = *p; /* warm-up */
    double start = now_ns();
    for (long i = 0; i < loads; i++) p = *p;
    double elapsed = now_ns() - start;
    if (p == NULL) printf("never\n"); /* keep the chain live */
    free(area);
    return elapsed / loads;
}

static double copy_bandwidth(void) {
    size_t size = 32 * 1024 * 1024;
    char *a = malloc(size), *b = malloc(size);
    memset(a, 1, size); memset(b, 2, size);
    memcpy(b, a, size); /* warm-up */
    int rounds = 4;
    double start = now_ns();
    for (int i = 0; i < rounds; i++) {
        memcpy(i % 2 ? a : b, i % 2 ? b : a, size);
        __asm__ volatile("" : : "r"(a), "r"(b) : "memory"); /* the copies are used: not optimised away */
    }
    double elapsed = now_ns() - start;
    free(a); free(b);
    return (double)size * rounds / (1024.0 * 1024.0) / (elapsed / 1e9);
}

static void wakeups(int count, double *p50, double *p99, double *max) {
    double *late = malloc(count * sizeof(double));
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int i = 0; i < count; i++) {
        next.tv_nsec += 200000;
        if (next.tv_nsec >= 1000000000) { next.tv_nsec -= 1000000000; next.tv_sec++; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        struct timespec woke;
        clock_gettime(CLOCK_MONOTONIC, &woke);
        double diff = (woke.tv_sec - next.tv_sec) * 1e6 + (woke.tv_nsec - next.tv_nsec) / 1e3;
        late[i] = diff;
        if (diff > 1000) next = woke; /* far behind: do not try to catch up */
    }
    qsort(late, count, sizeof(double), compare_double);
    *p50 = late[count / 2];
    *p99 = late[(int)(count * 0.99)];
    *max = late[count - 1];
    free(late);
}

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
    long loads = argc > 2 ? strtol(argv[2], NULL, 10) : 4000000;
    int count = argc > 3 ? atoi(argv[3]) : 2000;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("BENCH start working_set_mib=%zu chase_loads=%ld wakeups=%d\n", mib, loads, count);
    double chase_ns = chase(mib, loads);
    double copy = copy_bandwidth();
    double p50, p99, max;
    wakeups(count, &p50, &p99, &max);
    printf("BENCH chase_ns=%.1f copy_mib_s=%.0f wake_us_p50=%.1f wake_us_p99=%.1f wake_us_max=%.1f\n",
           chase_ns, copy, p50, p99, max);
    return 0;
}

/* Philox4x32-10 (Salmon, Moraes, Dror and Shaw, "Parallel random numbers: as
 * easy as 1, 2, 3", SC 2011): a counter-based generator.  Output j is a pure
 * function of (key, counter j), so any thread can draw any output's number in
 * any order and the stream never depends on the thread count.  Checked
 * against the Random123 known-answer vectors in tests/c/test_core.c. */
#ifndef CPOOL_PHILOX_H
#define CPOOL_PHILOX_H

#include <stdint.h>
#include "common.h"

#define CPOOL_PHILOX_M0 0xD2511F53u
#define CPOOL_PHILOX_M1 0xCD9E8D57u
#define CPOOL_PHILOX_W0 0x9E3779B9u /* key schedule: golden ratio */
#define CPOOL_PHILOX_W1 0xBB67AE85u /* sqrt(3) - 1 */

CPOOL_FORCE_INLINE void cpool_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2],
                                            uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    int r;
    for (r = 0; r < 10; r++) {
        const uint64_t p0 = (uint64_t)CPOOL_PHILOX_M0 * c0;
        const uint64_t p1 = (uint64_t)CPOOL_PHILOX_M1 * c2;
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += CPOOL_PHILOX_W0;
        k1 += CPOOL_PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* The uniform in [0, 1) of stream position q: Philox counter (q / 4, 0),
 * output word q % 4, 32 random bits.  Four consecutive positions share one
 * Philox call, a quarter of the cost of one call each; 2^-32 resolution is
 * far below any probability a window of activations can express usefully. */
/* The uniform of a random word: w / 2^32, exact in double. */
CPOOL_FORCE_INLINE double cpool_uniform(uint32_t w)
{
    return (double)w * (1.0 / 4294967296.0);
}

CPOOL_FORCE_INLINE double cpool_philox_uniform(uint64_t q, const uint32_t key[2])
{
    uint32_t ctr[4], out[4];
    ctr[0] = (uint32_t)(q >> 2);
    ctr[1] = (uint32_t)(q >> 34);
    ctr[2] = 0;
    ctr[3] = 0;
    cpool_philox4x32_10(ctr, key, out);
    return cpool_uniform(out[q & 3]);
}

#if defined(CPOOL_HAVE_CLONES)
/* The same calls in AVX2 registers (philox.c), taken where the CPU has
 * AVX2: about twice as fast as the compiler's vectors of the code below;
 * the _avx512 ones where it also has AVX-512VL (cpool_philox_vl). */
#define CPOOL_PHILOX_AVX2 1
void cpool_philox_calls_avx2(const uint64_t *restrict ctr, int64_t calls, const uint32_t key[2],
                             uint32_t *restrict words);
void cpool_philox_calls_avx512(const uint64_t *restrict ctr, int64_t calls, const uint32_t key[2],
                               uint32_t *restrict words);
/* The same for the counters first + i, made in registers: a row's calls
 * need no counter array (the loads of one stalled on its stores).  words
 * has room for calls rounded up to 16: the last block is stored whole. */
void cpool_philox_seq_avx2(uint64_t first, int64_t calls, const uint32_t key[2],
                           uint32_t *restrict words);
void cpool_philox_seq_avx512(uint64_t first, int64_t calls, const uint32_t key[2],
                             uint32_t *restrict words);

CPOOL_INLINE int cpool_philox_vl(void)
{
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl");
}
/* u[j * uj + r] = w[r][j] for r < runs rounded down to 8 and j < n, from
 * 8 x 8 transposes in registers (a channels-last row's words, run by run,
 * into pixel order); returns the runs done: none where n < 8. */
int64_t cpool_words_transpose_avx2(const uint32_t *const *w, int64_t runs, int64_t n,
                                   uint32_t *restrict u, int64_t uj);
#endif

/* Philox calls on counters (ctr[i], 0), i < calls <= CPOOL_CHUNK: call i's
 * four words go to words[4i .. 4i+3].  The rounds run over arrays, which the
 * compiler vectorises. */
CPOOL_FORCE_INLINE void cpool_philox_calls(const uint64_t *restrict ctr, int64_t calls,
                                           const uint32_t key[2], uint32_t *restrict words)
{
    uint32_t c0[CPOOL_CHUNK], c1[CPOOL_CHUNK], c2[CPOOL_CHUNK], c3[CPOOL_CHUNK];
    uint32_t k0 = key[0], k1 = key[1];
    int64_t j;
    int r;
#if defined(CPOOL_PHILOX_AVX2)
    if (cpool_philox_vl()) {
        cpool_philox_calls_avx512(ctr, calls, key, words);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        cpool_philox_calls_avx2(ctr, calls, key, words);
        return;
    }
#endif
    for (j = 0; j < calls; j++) {
        c0[j] = (uint32_t)ctr[j];
        c1[j] = (uint32_t)(ctr[j] >> 32);
        c2[j] = 0;
        c3[j] = 0;
    }
    for (r = 0; r < 10; r++) {
        for (j = 0; j < calls; j++) {
            const uint64_t p0 = (uint64_t)CPOOL_PHILOX_M0 * c0[j];
            const uint64_t p1 = (uint64_t)CPOOL_PHILOX_M1 * c2[j];
            const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1[j] ^ k0;
            const uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3[j] ^ k1;
            c1[j] = (uint32_t)p1;
            c3[j] = (uint32_t)p0;
            c0[j] = n0;
            c2[j] = n2;
        }
        k0 += CPOOL_PHILOX_W0;
        k1 += CPOOL_PHILOX_W1;
    }
    for (j = 0; j < calls; j++) {
        words[4 * j] = c0[j];
        words[4 * j + 1] = c1[j];
        words[4 * j + 2] = c2[j];
        words[4 * j + 3] = c3[j];
    }
}

/* The random words of the positions first + j, j < n <= CPOOL_CHUNK, made
 * in buf (room for 4 * CPOOL_CHUNK words): returns where the first one
 * is, so that a row's words need no copy.  Each call serves four
 * positions. */
CPOOL_FORCE_INLINE const uint32_t *cpool_philox_row(uint64_t first, int64_t n,
                                                    const uint32_t key[2],
                                                    uint32_t *restrict buf)
{
    const uint64_t base = first >> 2;
    const int64_t calls = (int64_t)(((first + (uint64_t)n + 3) >> 2) - base);
#if defined(CPOOL_PHILOX_AVX2)
    if (cpool_philox_vl()) {
        cpool_philox_seq_avx512(base, calls, key, buf);
        return buf + (first & 3);
    }
    if (__builtin_cpu_supports("avx2")) {
        cpool_philox_seq_avx2(base, calls, key, buf);
        return buf + (first & 3);
    }
#endif
    {
        uint64_t ctr[CPOOL_CHUNK];
        int64_t j;
        for (j = 0; j < calls; j++)
            ctr[j] = base + (uint64_t)j;
        cpool_philox_calls(ctr, calls, key, buf);
    }
    return buf + (first & 3);
}

/* u[j] = the random word of position first + j * step (cpool_philox_uniform
 * of it is cpool_uniform(u[j])), j < n <= CPOOL_CHUNK.  Words, not doubles:
 * the float32 draws convert them in registers, and half the bytes are
 * stored. */
CPOOL_FORCE_INLINE void cpool_philox_words(uint64_t first, uint64_t step, int64_t n,
                                           const uint32_t key[2], uint32_t *restrict u)
{
    uint64_t ctr[CPOOL_CHUNK];
    uint32_t words[4 * CPOOL_CHUNK];
    int64_t j;
    if (step == 1) {
        const uint32_t *w = cpool_philox_row(first, n, key, words);
        for (j = 0; j < n; j++)
            u[j] = w[j];
        return;
    }
    for (j = 0; j < n; j++)
        ctr[j] = (first + (uint64_t)j * step) >> 2;
    cpool_philox_calls(ctr, n, key, words);
    for (j = 0; j < n; j++)
        u[j] = words[4 * j + ((first + (uint64_t)j * step) & 3)];
}

/* u[r * ur + j * uj] = the random word of position first + r * step + j for r <
 * rows, j < n: `rows` runs of consecutive positions (a channels-last row's
 * channels), their calls batched together so that short runs still fill
 * the vector lanes. */
CPOOL_FORCE_INLINE void cpool_philox_runs(uint64_t first, uint64_t step, int64_t rows,
                                          int64_t n, const uint32_t key[2], uint32_t *restrict u,
                                          int64_t ur, int64_t uj)
{
    uint64_t ctr[CPOOL_CHUNK];
    uint32_t words[4 * CPOOL_CHUNK];
    int64_t r = 0, j;
    while (r < rows) {
        int64_t r1 = r, calls = 0, at = 0;
        for (; r1 < rows; r1++) {
            const uint64_t q = first + (uint64_t)r1 * step;
            const int64_t need = (int64_t)(((q + (uint64_t)n + 3) >> 2) - (q >> 2));
            int64_t i;
            if (calls + need > CPOOL_CHUNK)
                break;
            for (i = 0; i < need; i++)
                ctr[calls + i] = (q >> 2) + (uint64_t)i;
            calls += need;
        }
        if (r1 == r) { /* one run longer than a batch */
            const uint64_t q = first + (uint64_t)r * step;
            uint32_t part[CPOOL_CHUNK];
            int64_t j0;
            for (j0 = 0; j0 < n; j0 += CPOOL_CHUNK) {
                const int64_t m = n - j0 < CPOOL_CHUNK ? n - j0 : CPOOL_CHUNK;
                cpool_philox_words(q + (uint64_t)j0, 1, m, key, part);
                for (j = 0; j < m; j++)
                    u[r * ur + (j0 + j) * uj] = part[j];
            }
            r++;
            continue;
        }
        cpool_philox_calls(ctr, calls, key, words);
        {
            const uint32_t *w[CPOOL_CHUNK]; /* each run's first word */
            const int64_t r0 = r;
            int64_t g = 0;
            for (; r < r1; r++) {
                const uint64_t q = first + (uint64_t)r * step;
                w[r - r0] = words + 4 * at + (q & 3);
                at += (int64_t)(((q + (uint64_t)n + 3) >> 2) - (q >> 2));
            }
#if defined(CPOOL_PHILOX_AVX2)
            if (ur == 1 && __builtin_cpu_supports("avx2"))
                g = cpool_words_transpose_avx2(w, r1 - r0, n, u + r0, uj);
#endif
            for (; g < r1 - r0; g++)
                for (j = 0; j < n; j++)
                    u[(r0 + g) * ur + j * uj] = w[g][j];
        }
    }
}

#endif

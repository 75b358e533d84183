/* The classic MinHash min-reduction written by hand with AVX-512 intrinsics: the floor that any
 * implementation of datasketch's affine32 scheme meets on this CPU (see bench_classic_bound.py).
 *
 *   classic_bound IN OUT REPEATS
 *
 * IN holds int64 n_units, n_values, k, then int64 offsets[n_units + 1], uint32 values[n_values]
 * (shingle hashes already pre-mixed with fmix32), uint32 a[k], uint32 b[k]. The signatures
 * (n_units x k uint32) go to OUT; stdout gets the median microseconds per unit over REPEATS runs.
 * Each run is min_s (a_j * v_s + b_j) mod 2^32 for every unit and permutation: eight permutations
 * per pass over a unit's values, sixteen values per vector, the tail padded with the unit's first
 * value (which cannot change a minimum). Units shorter than the kernel's single-shingle case are
 * not special-cased here: the caller passes units of at least one value.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void sign(int64_t n_units, const int64_t *off, const uint32_t *vals, int64_t k, const uint32_t *a,
                 const uint32_t *b, uint32_t *pad, uint32_t *sig) {
    for (int64_t u = 0; u < n_units; u++) {
        int64_t cnt = off[u + 1] - off[u];
        const uint32_t *v = vals + off[u];
        int64_t m = (cnt + 15) / 16 * 16;
        memcpy(pad, v, cnt * sizeof(uint32_t));
        for (int64_t s = cnt; s < m; s++) pad[s] = v[0];
        uint32_t *row = sig + u * k;
        for (int64_t j = 0; j < k; j += 8) {
            __m512i A[8], B[8], M[8];
            for (int q = 0; q < 8; q++) {
                A[q] = _mm512_set1_epi32((int)a[j + q]);
                B[q] = _mm512_set1_epi32((int)b[j + q]);
                M[q] = _mm512_set1_epi32(-1);
            }
            for (int64_t s = 0; s < m; s += 16) {
                __m512i x = _mm512_loadu_si512(pad + s);
                for (int q = 0; q < 8; q++)
                    M[q] = _mm512_min_epu32(M[q], _mm512_add_epi32(_mm512_mullo_epi32(x, A[q]), B[q]));
            }
            for (int q = 0; q < 8; q++) row[j + q] = _mm512_reduce_min_epu32(M[q]);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: classic_bound IN OUT REPEATS\n");
        return 2;
    }
    FILE *in = fopen(argv[1], "rb");
    if (!in) return 2;
    int64_t head[3];
    if (fread(head, sizeof(int64_t), 3, in) != 3) return 2;
    int64_t n_units = head[0], n_values = head[1], k = head[2];
    if (k % 8) return 2;
    int64_t *off = malloc((n_units + 1) * sizeof(int64_t));
    uint32_t *vals = malloc(n_values * sizeof(uint32_t));
    uint32_t *a = malloc(k * sizeof(uint32_t)), *b = malloc(k * sizeof(uint32_t));
    if (fread(off, sizeof(int64_t), n_units + 1, in) != (size_t)(n_units + 1) ||
        fread(vals, sizeof(uint32_t), n_values, in) != (size_t)n_values ||
        fread(a, sizeof(uint32_t), k, in) != (size_t)k || fread(b, sizeof(uint32_t), k, in) != (size_t)k)
        return 2;
    fclose(in);
    int64_t longest = 0;
    for (int64_t u = 0; u < n_units; u++)
        if (off[u + 1] - off[u] > longest) longest = off[u + 1] - off[u];
    uint32_t *pad = malloc((longest + 16) * sizeof(uint32_t));
    uint32_t *sig = malloc(n_units * k * sizeof(uint32_t));
    int repeats = atoi(argv[3]);
    double *t = malloc(repeats * sizeof(double));
    for (int r = 0; r < repeats; r++) {
        double t0 = now();
        sign(n_units, off, vals, k, a, b, pad, sig);
        t[r] = (now() - t0) / n_units * 1e6;
    }
    qsort(t, repeats, sizeof(double), cmp);
    FILE *out = fopen(argv[2], "wb");
    if (!out || fwrite(sig, sizeof(uint32_t), n_units * k, out) != (size_t)(n_units * k)) return 2;
    fclose(out);
    printf("%.4f\n", t[repeats / 2]);
    return 0;
}

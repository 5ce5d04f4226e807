// The kernels' thread pool on wasm with threads: helper Web Workers share this module's memory, each running
// tl_worker_loop (waiting with memory.atomic.wait32 between jobs); the calling thread publishes a job, works on it
// too and spins until it is done (a page's main thread may not wait). Same protocol as native/threadpool.c: the job
// lives on the caller's stack, helpers take a reference before touching it, and the caller retires it and waits
// for the references to drop.
#include "../threadpool_job.h"

#define EXPORT(name) __attribute__((export_name(#name)))

static int pool_size = 1;
static _Atomic(tl_job *) current_job;
static atomic_int generation;  // bumped for every job; helpers wait on it
static int in_parallel_region;  // only the calling thread runs kernels, so this need not be per thread

// Threads sharing the work, the caller included (JS sets it once the helpers are running).
EXPORT(tl_pool_set_threads) void tl_pool_set_threads(int n) {
  pool_size = n < 1 ? 1 : n > TL_MAX_THREADS ? TL_MAX_THREADS : n;
}

int tl_num_threads(void) { return pool_size; }

// A helper's life (never returns): wait for a job, work on it.
EXPORT(tl_worker_loop) void tl_worker_loop(int thread) {
  int seen = atomic_load(&generation);
  for (;;) {
    int gen;
    while ((gen = atomic_load(&generation)) == seen) __builtin_wasm_memory_atomic_wait32((int *)&generation, seen, -1);
    seen = gen;
    tl_job_join(&current_job, thread);
  }
}

void tl_parallel_for(int n_tasks, tl_task_fn fn, void *ctx) {
  if (n_tasks <= 0) return;
  if (pool_size == 1 || n_tasks == 1 || in_parallel_region) {
    for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
    return;
  }
  in_parallel_region = 1;
  tl_job job = {.fn = fn, .ctx = ctx, .n_tasks = n_tasks};
  atomic_init(&job.next, 0);
  atomic_init(&job.done, 0);
  atomic_init(&job.refs, 0);
  atomic_store_explicit(&current_job, &job, memory_order_release);
  atomic_fetch_add_explicit(&generation, 1, memory_order_release);
  __builtin_wasm_memory_atomic_notify((int *)&generation, (unsigned)-1);
  tl_job_run_tasks(&job, 0);
  while (atomic_load_explicit(&job.done, memory_order_acquire) < n_tasks) {
  }
  atomic_store_explicit(&current_job, NULL, memory_order_release);
  while (atomic_load_explicit(&job.refs, memory_order_acquire) > 0) {
  }
  in_parallel_region = 0;
}

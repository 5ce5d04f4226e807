// The job both thread pools share (native/threadpool.c on pthreads, native/wasm/threadpool_mt.c on wasm threads):
// it lives on the caller's stack; workers take a reference before touching it, claim tasks until none is left,
// and drop the reference; the caller retires it and waits for the references to drop.
#ifndef TLENS_THREADPOOL_JOB_H
#define TLENS_THREADPOOL_JOB_H

#include <stdatomic.h>

#include "threadpool.h"

#define TL_MAX_THREADS 64

typedef struct {
  tl_task_fn fn;
  void *ctx;
  int n_tasks;
  atomic_int next;
  atomic_int done;
  /** workers currently inside this job */
  atomic_int refs;
} tl_job;

static inline void tl_job_run_tasks(tl_job *job, int thread) {
  for (;;) {
    int t = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
    if (t >= job->n_tasks) break;
    job->fn(job->ctx, t, thread);
    atomic_fetch_add_explicit(&job->done, 1, memory_order_release);
  }
}

/** Works on the published job, if any is still published. */
static inline void tl_job_join(_Atomic(tl_job *) *current, int thread) {
  tl_job *job = atomic_load_explicit(current, memory_order_acquire);
  if (!job) return;
  atomic_fetch_add_explicit(&job->refs, 1, memory_order_acq_rel);
  // the caller may have retired the job between our load and our ref: then it is not ours to touch
  if (atomic_load_explicit(current, memory_order_acquire) == job) tl_job_run_tasks(job, thread);
  atomic_fetch_sub_explicit(&job->refs, 1, memory_order_release);
}

#endif

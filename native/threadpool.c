// Workers spin briefly on the current job after each one (back-to-back kernel calls are the common case) and
// then sleep on a condition variable, so an idle pool costs no CPU. The caller returns as soon as every task is
// done and no worker still holds the job — it never waits for sleeping workers to wake up.
#include "threadpool_job.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

// ~50-100 µs of PAUSE: long enough to catch the next kernel call, short enough not to look busy to the scheduler
#define TL_SPIN_ITERS 4000

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_size = 1;
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
// one job at a time: callers on different threads (e.g. JS worker_threads) take turns
static pthread_mutex_t caller_mutex = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(tl_job *) current_job;
// bumped for every job: jobs live on the caller's stack, so their addresses repeat
static atomic_uint job_generation;
static _Thread_local int in_parallel_region;

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

static void *worker_main(void *arg) {
  int thread = (int)(long)arg;
  in_parallel_region = 1;
  unsigned seen = 0;
  for (;;) {
    int spins = 0;
    unsigned gen;
    while ((gen = atomic_load_explicit(&job_generation, memory_order_acquire)) == seen && spins < TL_SPIN_ITERS) {
      spins++;
      cpu_relax();
    }
    if (gen == seen) {
      pthread_mutex_lock(&pool_mutex);
      while ((gen = atomic_load_explicit(&job_generation, memory_order_acquire)) == seen) pthread_cond_wait(&pool_cond, &pool_mutex);
      pthread_mutex_unlock(&pool_mutex);
    }
    seen = gen;
    tl_job_join(&current_job, thread);
  }
  return NULL;
}

static void pool_init(void) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  const char *env = getenv("TLENS_NUM_THREADS");
  if (env && atoi(env) > 0) cpus = atoi(env);
  if (cpus < 1) cpus = 1;
  if (cpus > TL_MAX_THREADS) cpus = TL_MAX_THREADS;
  pool_size = (int)cpus;
  for (int i = 1; i < pool_size; i++) {
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int failed = pthread_create(&th, &attr, worker_main, (void *)(long)i) != 0;
    pthread_attr_destroy(&attr);
    if (failed) {
      pool_size = i;  // run with the threads we got
      break;
    }
  }
}

int tl_num_threads(void) {
  pthread_once(&pool_once, pool_init);
  return pool_size;
}

void tl_parallel_for(int n_tasks, tl_task_fn fn, void *ctx) {
  int threads = tl_num_threads();
  if (n_tasks <= 0) return;
  if (threads == 1 || n_tasks == 1 || in_parallel_region) {
    for (int t = 0; t < n_tasks; t++) fn(ctx, t, 0);
    return;
  }
  pthread_mutex_lock(&caller_mutex);
  in_parallel_region = 1;
  tl_job job = {.fn = fn, .ctx = ctx, .n_tasks = n_tasks};
  atomic_init(&job.next, 0);
  atomic_init(&job.done, 0);
  atomic_init(&job.refs, 0);
  pthread_mutex_lock(&pool_mutex);
  atomic_store_explicit(&current_job, &job, memory_order_release);
  atomic_fetch_add_explicit(&job_generation, 1, memory_order_release);
  pthread_cond_broadcast(&pool_cond);
  pthread_mutex_unlock(&pool_mutex);
  tl_job_run_tasks(&job, 0);
  while (atomic_load_explicit(&job.done, memory_order_acquire) < n_tasks) cpu_relax();
  // retire the job, then wait for workers still inside it (they find no task left and leave at once)
  atomic_store_explicit(&current_job, NULL, memory_order_release);
  while (atomic_load_explicit(&job.refs, memory_order_acquire) > 0) cpu_relax();
  in_parallel_region = 0;
  pthread_mutex_unlock(&caller_mutex);
}

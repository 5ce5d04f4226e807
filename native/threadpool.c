// Workers spin briefly on a generation counter after each job (back-to-back kernel calls are the common case)
// and then sleep on a condition variable, so an idle pool costs no CPU.
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define TL_MAX_THREADS 64
#define TL_SPIN_ITERS 200000

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;
static int pool_size = 1;
static pthread_mutex_t pool_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;

static atomic_uint job_generation;
static tl_task_fn job_fn;
static void *job_ctx;
static int job_tasks;
static atomic_int job_next;
static atomic_int job_workers_done;
static _Thread_local int in_parallel_region;

static void run_tasks(int thread) {
  for (;;) {
    int t = atomic_fetch_add_explicit(&job_next, 1, memory_order_relaxed);
    if (t >= job_tasks) break;
    job_fn(job_ctx, t, thread);
  }
}

static void *worker_main(void *arg) {
  int thread = (int)(long)arg;
  unsigned seen = 0;
  in_parallel_region = 1;
  for (;;) {
    unsigned gen;
    int spins = 0;
    while ((gen = atomic_load_explicit(&job_generation, memory_order_acquire)) == seen && spins < TL_SPIN_ITERS) {
      spins++;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if (gen == seen) {
      pthread_mutex_lock(&pool_mutex);
      while ((gen = atomic_load_explicit(&job_generation, memory_order_acquire)) == seen)
        pthread_cond_wait(&pool_cond, &pool_mutex);
      pthread_mutex_unlock(&pool_mutex);
    }
    seen = gen;
    run_tasks(thread);
    atomic_fetch_add_explicit(&job_workers_done, 1, memory_order_release);
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
    if (pthread_create(&th, &attr, worker_main, (void *)(long)i) != 0) {
      pool_size = i;  // run with the threads we got
      pthread_attr_destroy(&attr);
      break;
    }
    pthread_attr_destroy(&attr);
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
  in_parallel_region = 1;
  job_fn = fn;
  job_ctx = ctx;
  job_tasks = n_tasks;
  atomic_store_explicit(&job_next, 0, memory_order_relaxed);
  atomic_store_explicit(&job_workers_done, 0, memory_order_relaxed);
  pthread_mutex_lock(&pool_mutex);
  atomic_fetch_add_explicit(&job_generation, 1, memory_order_release);
  pthread_cond_broadcast(&pool_cond);
  pthread_mutex_unlock(&pool_mutex);
  run_tasks(0);
  while (atomic_load_explicit(&job_workers_done, memory_order_acquire) < threads - 1) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
  in_parallel_region = 0;
}

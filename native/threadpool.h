// A small persistent thread pool shared by every native kernel.
#ifndef TL_THREADPOOL_H
#define TL_THREADPOOL_H

// fn(ctx, task, thread): run task `task` (0 <= task < n_tasks) on worker `thread` (0 <= thread < tl_num_threads()).
typedef void (*tl_task_fn)(void *ctx, int task, int thread);

// Threads in the pool, the calling thread included (TLENS_NUM_THREADS overrides; default: online CPUs).
int tl_num_threads(void);
// Runs every task once, spread over the pool (the caller works too); returns when all are done.
// A nested call (from inside a task) runs its tasks serially on the calling thread.
void tl_parallel_for(int n_tasks, tl_task_fn fn, void *ctx);

#endif

//! A job's completion wakes the task that awaits it on that task's own loop,
//! with several loops running, and wakes it exactly once (nothing polls).

mod pool_support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use pool_support::{wait_until, Gate};
use weft::pool::Lane;
use weft::rt::{Handle, Runtime};

/// Loop threads in the runtime under test: more than one, so a completion
/// could land on the wrong one.
const LOOPS: usize = 3;
/// Jobs each loop submits at once.
const JOBS_PER_LOOP: usize = 16;

#[test]
fn completions_resume_tasks_on_their_own_loop() {
    let rt = Runtime::builder().loops(LOOPS).build().unwrap();
    let tasks: Vec<_> = (0..LOOPS)
        .map(|index| {
            rt.spawn_on(index, async move {
                let loop_thread = std::thread::current().id();
                let jobs: Vec<_> = (0..JOBS_PER_LOOP)
                    .map(|j| {
                        let lane = if j % 2 == 0 {
                            Lane::Blocking
                        } else {
                            Lane::Cpu
                        };
                        weft::pool::submit(lane, || std::thread::current().id())
                    })
                    .collect();
                for job in jobs {
                    let worker_thread = job.await.unwrap();
                    assert_ne!(worker_thread, loop_thread, "the job ran on the loop");
                    assert_eq!(
                        std::thread::current().id(),
                        loop_thread,
                        "resumed elsewhere"
                    );
                    assert_eq!(Handle::current().current_loop(), Some(index));
                }
                index
            })
        })
        .collect();
    rt.block_on(async {
        for (index, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), index);
        }
        // The caller loop, driven by block_on on this thread, too.
        let me = std::thread::current().id();
        weft::spawn_blocking(|| ()).await.unwrap();
        assert_eq!(std::thread::current().id(), me);
    });
}

/// Counts how often the wrapped future is polled.
struct CountPolls<F> {
    inner: F,
    polls: Arc<AtomicUsize>,
}

impl<F: Future + Unpin> Future for CountPolls<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        Pin::new(&mut self.inner).poll(cx)
    }
}

#[test]
fn an_awaiting_task_is_polled_once_more_when_its_job_ends() {
    let rt = Runtime::builder().loops(2).build().unwrap();
    let gate = Gate::new();
    let _open = gate.open_on_drop();
    let polls = Arc::new(AtomicUsize::new(0));
    let task = {
        let (gate, polls) = (gate.clone(), polls.clone());
        rt.spawn_on(1, async move {
            let job = weft::spawn_blocking(move || gate.wait());
            CountPolls { inner: job, polls }.await.unwrap();
        })
    };
    wait_until("the task to wait on its job", || {
        polls.load(Ordering::SeqCst) == 1 && rt.metrics().pool.lane(Lane::Blocking).running == 1
    });
    gate.open();
    rt.block_on(task).unwrap();
    assert_eq!(
        polls.load(Ordering::SeqCst),
        2,
        "polled without a wake, or woken twice"
    );
}

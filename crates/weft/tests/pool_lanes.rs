//! Lanes isolate kinds of work: a flood of slow dns-lane jobs that holds
//! every dns thread does not delay fs-lane jobs.

mod pool_support;

use pool_support::{block_on, wait_until, Gate};
use weft::pool::{Lane, WorkerPool};

/// Far more slow lookups than the dns lane has threads, so its queue backs up.
const DNS_FLOOD: usize = 64;
/// File jobs submitted while the flood holds the dns lane.
const FS_JOBS: usize = 32;

#[test]
fn slow_dns_flood_does_not_delay_fs() {
    let pool = WorkerPool::builder().build().unwrap();
    let dns_threads = pool.config().threads(Lane::Dns);
    let gate = Gate::new();
    let _open = gate.open_on_drop();

    let flood: Vec<_> = (0..DNS_FLOOD)
        .map(|_| {
            let gate = gate.clone();
            pool.submit(Lane::Dns, move || gate.wait())
        })
        .collect();
    wait_until("every dns thread to be stuck", || {
        let m = pool.metrics();
        let dns = m.lane(Lane::Dns);
        dns.running == dns_threads && dns.queued == DNS_FLOOD - dns_threads
    });

    // Every fs job completes while every dns job is still blocked: with one
    // shared queue they would sit behind the flood until the gate opens,
    // which happens only after they are done.
    for i in 0..FS_JOBS {
        assert_eq!(
            block_on(pool.submit(Lane::Fs, move || i * 2)).unwrap(),
            i * 2
        );
    }
    let m = pool.metrics();
    assert_eq!(m.lane(Lane::Fs).completed, FS_JOBS as u64);
    assert_eq!(m.lane(Lane::Dns).completed, 0, "dns jobs finished early");
    assert_eq!(m.lane(Lane::Dns).running, dns_threads);

    gate.open();
    for job in flood {
        block_on(job).unwrap();
    }
    assert_eq!(pool.metrics().lane(Lane::Dns).completed, DNS_FLOOD as u64);
}

#[test]
fn file_calls_complete_while_the_dns_lane_is_stuck() {
    let rt = weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap();
    let gate = Gate::new();
    let _open = gate.open_on_drop();
    let path = std::env::temp_dir().join(format!("weft-lanes-{}", std::process::id()));
    let flood = rt.block_on(async {
        // Stand-ins for lookups of a dead name server: they hold every dns
        // thread until the gate opens.
        (0..DNS_FLOOD)
            .map(|_| {
                let gate = gate.clone();
                weft::pool::submit(Lane::Dns, move || gate.wait())
            })
            .collect::<Vec<_>>()
    });
    let dns_threads = rt.metrics().pool.lane(Lane::Dns).max_threads;
    wait_until("every dns thread to be stuck", || {
        rt.metrics().pool.lane(Lane::Dns).running == dns_threads
    });
    rt.block_on(async {
        weft::fs::write(&path, b"not stuck").await.unwrap();
        assert_eq!(weft::fs::read(&path).await.unwrap(), b"not stuck");
        weft::fs::remove_file(&path).await.unwrap();
    });
    assert_eq!(rt.metrics().pool.lane(Lane::Dns).completed, 0);
    gate.open();
    rt.block_on(async {
        for job in flood {
            job.await.unwrap();
        }
    });
}

//! What the benchmarks in `benches/` share: the runtimes they compare, built the same way, and
//! the `weft::sync` rows two of them run (`sync_rows`).

pub mod sync_rows;

/// weft with only the caller loop, driven by `block_on` (the counterpart of tokio's
/// current-thread runtime).
pub fn weft_rt() -> weft::rt::Runtime {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .expect("weft runtime")
}

/// tokio's current-thread runtime with I/O and timers enabled.
pub fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Criterion settings shared by the runtime and pool benchmarks: short warm-up and measurement
/// windows keep a full `cargo bench` within a few minutes on a 2-core machine.
pub fn criterion_config() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(3))
}

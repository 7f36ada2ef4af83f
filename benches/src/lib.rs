//! What the benchmarks in `benches/` share: the runtimes they compare, built the same way.

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

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

/// Pins the calling thread to the CPU that `WEFT_PIN_CALLER` names, if it names one: the row's
/// loop of `sync_instr` and of the `diag` bench's interleaved pass, pinned after the
/// diagnostics' threads have started, so that they keep the other core (`taskset` would put
/// them on the loop's).
pub fn pin_caller_from_env() {
    let Ok(cpu) = std::env::var("WEFT_PIN_CALLER") else {
        return;
    };
    let cpu: usize = cpu.parse().expect("WEFT_PIN_CALLER: a CPU number");
    set_affinity(&[cpu]);
}

/// Lets the calling thread run on every online CPU again (undoes [`pin_caller_from_env`]).
pub fn unpin_caller() {
    // SAFETY: sysconf only reads a system setting.
    let online = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) }.max(1) as usize;
    set_affinity(&(0..online).collect::<Vec<_>>());
}

fn set_affinity(cpus: &[usize]) {
    // SAFETY: a zeroed `cpu_set_t` is the empty set; CPU_SET and sched_setaffinity only read
    // and write that local set, and 0 names the calling thread.
    let ok = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    };
    assert!(ok, "sched_setaffinity to CPUs {cpus:?} failed");
}

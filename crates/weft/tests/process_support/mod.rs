//! Helpers for the `process_*` tests: what /proc says about our children.
#![allow(dead_code)]

/// The state letter of process `pid` (`'R'`, `'S'`, `'Z'`, …), or `None` once it is gone
/// (reaped).
pub fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may contain spaces: the state follows the last ')'.
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// The parent pid of process `pid` as /proc reports it.
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// Pids of this process's children that are zombies (exited, not reaped).
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| parent(pid) == Some(me) && state(pid) == Some('Z'))
        .collect()
}

/// A current-thread runtime.
pub fn runtime() -> weft::rt::Runtime {
    weft::rt::Runtime::builder()
        .current_thread()
        .build()
        .unwrap()
}

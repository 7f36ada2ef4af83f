//! `weft::process`: 1,000 short children leak no descriptor and leave no zombie.

mod common;
mod process_support;

use weft::process::Command;

const CHILDREN: usize = 1000;

#[test]
fn a_thousand_children_leak_nothing() {
    let rt = process_support::runtime();
    rt.block_on(async {
        // Warm up: the first spawn may open descriptors that stay (the signal self-pipe, ...).
        Command::new("/bin/true").status().await.unwrap();
        let fds_before = common::fd_count();
        for i in 0..CHILDREN {
            let status = Command::new("/bin/true").status().await.unwrap();
            assert!(status.success(), "child {i}: {status}");
        }
        // Some dropped without a wait, half of them with pipes.
        for i in 0..CHILDREN / 10 {
            let mut command = Command::new("/bin/true");
            if i % 2 == 0 {
                command.stdout(std::process::Stdio::piped());
            }
            drop(command.spawn().unwrap());
        }
        common::until(|| process_support::zombie_children().is_empty()).await;
        // Reaping dropped children is asynchronous: allow it to finish closing pidfds.
        common::until(|| common::fd_count() <= fds_before).await;
        assert_eq!(common::fd_count(), fds_before, "no descriptor leaked");
        assert_eq!(process_support::zombie_children(), Vec::<u32>::new());
    });
}

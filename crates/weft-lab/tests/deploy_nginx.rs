//! Three `weft serve --workers 2` "hosts" (127.0.0.11, .12, .13, one port) behind nginx, run
//! as a child on `deploy/nginx.conf` exactly as committed (placeholders filled in), under a
//! continuous keep-alive load through nginx that counts every failure (connect errors,
//! resets, answers cut short, non-2xx): a rolling restart, instance by instance (SIGTERM, wait
//! for the exit, start again, wait for its /readyz and for nginx to send it traffic): 0 failed
//! requests.
//!
//! Open-source nginx has passive checks only: it never asks /readyz. The instance keeps
//! serving during its drain grace; once its listener closes, nginx's connects are refused and
//! `proxy_next_upstream error` passes those requests (never sent) to another instance.

mod deploy_support;

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use deploy_support::*;
use weft_testkit::{wait_until, TempDir, WatchedChild};

/// nginx as a child on the committed config.
struct Balancer {
    child: WatchedChild,
    addr: SocketAddr,
    dir: TempDir,
}

impl Balancer {
    fn start(instances: &[Instance]) -> Balancer {
        let nginx = tool("nginx", &["/usr/sbin/nginx"], "nginx");
        let dir = TempDir::new("deploy-nginx");
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let text = config(
            "nginx.conf",
            &[
                ("@LISTEN@", addr.to_string()),
                ("@PREFIX@", dir.path().display().to_string()),
                ("@WEFT1@", instances[0].addr.to_string()),
                ("@WEFT2@", instances[1].addr.to_string()),
                ("@WEFT3@", instances[2].addr.to_string()),
            ],
        );
        let cfg = dir.path().join("nginx.conf");
        std::fs::write(&cfg, text).unwrap();
        let mut command = Command::new(nginx);
        command
            .arg("-p")
            .arg(dir.path())
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .arg("-c")
            .arg(&cfg);
        let child = spawn_watched(command);
        wait_until("nginx to listen", || {
            std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_ok()
        });
        Balancer { child, addr, dir }
    }

    /// nginx's error log so far.
    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

impl Drop for Balancer {
    /// A fast shutdown (SIGTERM) of the master, which stops its worker too, and its exit.
    fn drop(&mut self) {
        weft_testkit::send_signal(self.child.pid(), SIGTERM);
        let _ = self.child.wait_exit();
    }
}

/// GET /readyz of `addr` on a new connection answered 200.
fn ready(addr: SocketAddr) -> bool {
    let client = weft_testkit::KeepAlive::new(addr, "/readyz");
    matches!(client.request(), weft_testkit::Outcome::Answered(_))
}

#[test]
fn nginx_rolling_restart_fails_no_request() {
    let mut instances = start_instances();
    let balancer = Balancer::start(&instances);
    let load = balanced_load(balancer.addr);
    more_answers(&load, "answers through nginx before the first restart");
    let begun = Instant::now();
    for instance in instances.iter_mut() {
        instance.stop();
        *instance = Instance::start(instance.addr);
        wait_until("the restarted instance's /readyz 200", || {
            ready(instance.addr)
        });
        load.wait_answer_from(
            &instance.workers,
            &format!("an answer through nginx from restarted {}", instance.addr),
        );
        more_answers(&load, "answers after the restart");
    }
    let took = begun.elapsed();
    let f = figures(&load.stop());
    println!(
        "FIGURE nginx (a) rolling restart of 3 x `weft serve --workers 2` under keep-alive load \
         ({CLIENTS} clients): {} sent, {} answered, {} refused, {} failed; took {took:.1?}",
        f.sent,
        f.answered,
        f.refused,
        f.failed.len()
    );
    assert!(
        f.failed.is_empty(),
        "failed requests: {:?}\nnginx error log:\n{}",
        f.failed,
        balancer.error_log()
    );
    assert_eq!(f.refused, 0, "nginx refused connections");
}

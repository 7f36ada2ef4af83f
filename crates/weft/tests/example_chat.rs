//! The chat example, run as a child process and talked to by two real TCP clients: names, joins,
//! lines said by one reach both, and Ctrl-C (SIGINT) tells both clients goodbye, disconnects them
//! and ends the server cleanly.
//!
//! The child is this test binary re-run with `WEFT_CHAT_CHILD` set, filtered to
//! `server_process`, which then runs `examples/chat.rs`'s `main` (compiled in here by path).

mod common;

#[allow(dead_code)]
#[path = "../examples/chat.rs"]
mod chat;

use common::DEADLINE;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use weft_testkit::{Watch, WatchedChild};

const CHILD_ENV: &str = "WEFT_CHAT_CHILD";

/// The server, when run as the child; a no-op in the normal test run.
#[test]
fn server_process() {
    if std::env::var_os(CHILD_ENV).is_some() {
        let any_port = "127.0.0.1:0".parse().unwrap();
        chat::run(any_port).expect("the chat server ran and stopped cleanly");
    }
}

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(addr: &str, name: &str) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        let mut client = Client {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        };
        client.expect("* welcome; your name?");
        client.say(name);
        client
    }

    fn say(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// The next line the server sends (a read timeout fails the test).
    fn line(&mut self) -> String {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .expect("a line within the deadline");
        assert!(n > 0, "the server hung up");
        line.trim_end().to_string()
    }

    #[track_caller]
    fn expect(&mut self, want: &str) {
        assert_eq!(self.line(), want);
    }

    #[track_caller]
    fn expect_hangup(&mut self) {
        let mut rest = String::new();
        assert_eq!(
            self.reader
                .read_line(&mut rest)
                .expect("EOF within the deadline"),
            0
        );
    }
}

#[test]
fn two_clients_chat_and_ctrl_c_says_goodbye() {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "server_process",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, "1");
    let mut child = WatchedChild::spawn(cmd, Watch::Stdout, DEADLINE);
    // libtest prints "test server_process ... " on the same line, before the server's output.
    const LISTENING: &str = "chat: listening on ";
    let line = child.wait_line(|l| l.contains(LISTENING), "the listening line");
    let addr = line.split(LISTENING).nth(1).unwrap().trim().to_string();

    let mut alice = Client::connect(&addr, "alice");
    alice.expect("* alice joined (1 here)");
    let mut bob = Client::connect(&addr, "bob");
    bob.expect("* bob joined (2 here)");
    alice.expect("* bob joined (2 here)");

    alice.say("hello bob");
    bob.expect("alice: hello bob");
    alice.expect("alice: hello bob");
    bob.say("hi alice");
    alice.expect("bob: hi alice");
    bob.expect("bob: hi alice");

    child.signal(libc::SIGINT);
    for client in [&mut alice, &mut bob] {
        client.expect("* server shutting down, bye");
        client.expect_hangup();
    }
    child.wait_line(|l| l.contains("chat: stopped"), "the server's last line");
    assert!(child.wait_exit().success(), "{}", child.log.join("\n"));
}

//! A TCP chat server: every line a client sends reaches every connected client.
//!
//! `cargo run -p weft --example chat -- [ADDR]` (default 127.0.0.1:7878), then in two terminals
//! `nc 127.0.0.1 7878`: the first line you type is your name, every later line is said to all.
//! Ctrl-C (or SIGTERM) stops it: clients are told, then disconnected.
//!
//! How the pieces of `weft::sync` fit:
//!
//! - an **mpsc** channel carries every client's events (joined, said, left) to one *hub* task,
//!   which owns the room (who is here) and formats the messages; a second one, whose senders are
//!   held by the connections, tells `main` when the last connection has finished;
//! - a **broadcast** channel carries the hub's messages to every connection's writer; a client
//!   too slow to keep up is told how many lines it missed (`Lagged`) and continues;
//! - a **CancellationToken**, cancelled on Ctrl-C, stops the accept loop and the hub (a child
//!   token); the hub's last broadcast tells everyone, and closing the broadcast ends the
//!   writers, so each client receives the notice before being disconnected.

use futures_util::future::{select, Either};
use futures_util::io::{AsyncBufReadExt, BufReader};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;
use weft::net::{TcpListener, TcpStream};
use weft::rt::Runtime;
use weft::signal::{SignalKind, Signals};
use weft::sync::{broadcast, mpsc, CancellationToken};

/// Lines the broadcast keeps for slow clients before they lag.
const BACKLOG: usize = 256;
/// Client events queued for the hub before a client's reader waits (backpressure).
const EVENTS: usize = 1024;
/// How long, after Ctrl-C, connections get to deliver the goodbye before the process exits.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Longest name accepted; longer ones are cut.
const MAX_NAME: usize = 32;

/// What a connection tells the hub.
enum Event {
    Joined(Arc<str>),
    Said(Arc<str>, String),
    Left(Arc<str>),
}

fn main() -> io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:7878".into());
    let addr: SocketAddr = addr.parse().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("address {addr:?}: {e}"),
        )
    })?;
    run(addr)
}

/// Serves on `addr` until Ctrl-C or SIGTERM. Public so that `tests/example_chat.rs` can run
/// this very file in a child process.
pub fn run(addr: SocketAddr) -> io::Result<()> {
    let rt = Runtime::builder().current_thread().build()?;
    rt.block_on(serve(addr))
}

async fn serve(addr: SocketAddr) -> io::Result<()> {
    let listener = TcpListener::bind(addr)?;
    let shutdown = CancellationToken::new();
    let mut signals = Signals::new(&[SignalKind::Interrupt, SignalKind::Terminate])?;
    let on_signal = shutdown.clone();
    weft::spawn(async move {
        if let Ok(kind) = signals.recv().await {
            println!("chat: {} received, shutting down", kind.name());
            on_signal.cancel();
        }
    });

    let (events_tx, events_rx) = mpsc::channel(EVENTS);
    let (lines_tx, _) = broadcast::channel::<Arc<str>>(BACKLOG);
    let hub = weft::spawn(hub(events_rx, lines_tx.clone(), shutdown.child_token()));
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);

    println!("chat: listening on {}", listener.local_addr()?);
    loop {
        let accepted = match select(pin!(shutdown.cancelled()), pin!(listener.accept())).await {
            Either::Left(((), _)) => break,
            Either::Right((accepted, _)) => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("chat: accept: {e}");
                continue;
            }
        };
        let conn = connection(stream, events_tx.clone(), lines_tx.subscribe());
        let done = done_tx.clone();
        weft::spawn(async move {
            if let Err(e) = conn.await {
                eprintln!("chat: {peer}: {e}");
            }
            drop(done);
        });
    }
    // Only the hub may send now: once it has said goodbye and dropped its sender, the
    // broadcast closes and every writer finishes.
    drop((lines_tx, events_tx, done_tx));
    hub.await.map_err(io::Error::other)?;
    // `recv` returns None once every connection has dropped its `done` sender.
    if weft::time::timeout(SHUTDOWN_GRACE, done_rx.recv())
        .await
        .is_err()
    {
        eprintln!("chat: some connections did not finish within {SHUTDOWN_GRACE:?}");
    }
    println!("chat: stopped");
    Ok(())
}

/// Owns the room: turns events into lines for everyone, until cancelled.
async fn hub(
    mut events: mpsc::Receiver<Event>,
    lines: broadcast::Sender<Arc<str>>,
    shutdown: CancellationToken,
) {
    let mut here = 0usize;
    loop {
        let event = match select(pin!(shutdown.cancelled()), pin!(events.recv())).await {
            Either::Left(((), _)) | Either::Right((None, _)) => break,
            Either::Right((Some(event), _)) => event,
        };
        let line = match event {
            Event::Joined(name) => {
                here += 1;
                format!("* {name} joined ({here} here)\n")
            }
            Event::Said(name, text) => format!("{name}: {text}\n"),
            Event::Left(name) => {
                here -= 1;
                format!("* {name} left ({here} here)\n")
            }
        };
        // Err only means nobody is connected to hear it.
        let _ = lines.send(line.into());
    }
    let _ = lines.send("* server shutting down, bye\n".into());
}

/// One client: its reader sends events to the hub, its writer copies the broadcast to it. The
/// connection ends when either does: the client hangs up, or the broadcast closes (shutdown).
async fn connection(
    stream: TcpStream,
    events: mpsc::Sender<Event>,
    mut lines: broadcast::Receiver<Arc<str>>,
) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    let reader = async {
        let mut reader = BufReader::new(&stream);
        let mut line = String::new();
        stream.write_all(b"* welcome; your name?\n").await?;
        if reader.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let name: Arc<str> = line
            .trim()
            .chars()
            .take(MAX_NAME)
            .collect::<String>()
            .into();
        let _ = events.send(Event::Joined(name.clone())).await;
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                break;
            }
            let text = line.trim_end().to_string();
            if events.send(Event::Said(name.clone(), text)).await.is_err() {
                break;
            }
        }
        let _ = events.send(Event::Left(name)).await;
        Ok::<(), io::Error>(())
    };
    let writer = async {
        loop {
            match lines.recv().await {
                Ok(line) => stream.write_all(line.as_bytes()).await?,
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    stream
                        .write_all(format!("* you missed {n} lines\n").as_bytes())
                        .await?
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    };
    match select(pin!(reader), pin!(writer)).await {
        Either::Left((result, _)) | Either::Right((result, _)) => result,
    }
}

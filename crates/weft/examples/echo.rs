//! A TCP echo server: one `SO_REUSEPORT` listener per event loop, one task per connection.
//!
//! `cargo run --release -p weft --example echo -- [ADDR] [LOOPS]`, then `nc 127.0.0.1 7007`.

use weft::net::{ListenOptions, TcpListener};
use weft::rt::Runtime;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:7007".into());
    let addr: std::net::SocketAddr = addr.parse().map_err(|e| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("{addr}: {e}"))
    })?;
    let loops: usize = args.next().map_or(Ok(2), |n| n.parse()).map_err(|e| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("loops: {e}"))
    })?;
    let rt = Runtime::builder().loops(loops).build()?;
    let opts = ListenOptions::default().reuse_port(true);
    for i in 0..rt.loops() {
        let opts = opts.clone();
        rt.spawn_on(i, async move {
            let listener = TcpListener::bind_with(addr, &opts).expect("bind");
            loop {
                let (stream, _peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        eprintln!("accept: {err}");
                        continue;
                    }
                };
                weft::spawn(async move {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = stream.read(&mut buf).await {
                        if n == 0 || stream.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        })
        .detach();
    }
    println!(
        "echo server on {addr} with {} loops; Ctrl-C to stop",
        rt.loops()
    );
    rt.block_on(std::future::pending::<()>());
    Ok(())
}

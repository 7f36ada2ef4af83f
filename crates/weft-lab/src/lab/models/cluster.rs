//! `cluster`: [`CLUSTER_WORKERS`](super::CLUSTER_WORKERS) processes with one event loop each,
//! under weft::cluster's supervisor (which binds the socket, executes this binary again as each
//! worker, and replaces a worker that dies). A crash loses one worker's connections only.
//!
//! [`supervise`] is also the supervisor of `prefork`, whose workers serve differently.

use std::io;
use std::net::SocketAddr;

use weft::cluster::ipc::IpcError;
use weft::cluster::{self, Role, Supervisor, WorkerEvent, WorkerLink};
use weft::rt::Runtime;
use weft_http::{ServerConfig, ShutdownSignal};

/// Serves forever (supervisor), or serves as one worker.
pub(super) fn serve(addr: SocketAddr) -> io::Result<()> {
    match cluster::role()? {
        Role::Supervisor => supervise(addr, super::CLUSTER_WORKERS),
        Role::Worker(_) => work(),
    }
}

/// Binds `addr`, announces it, and runs a supervisor of `workers` workers until SIGTERM.
pub(super) fn supervise(addr: SocketAddr, workers: usize) -> io::Result<()> {
    let runtime = Runtime::builder().current_thread().build()?;
    runtime.block_on(async {
        let listener = cluster::bind(addr)?;
        super::announce(listener.local_addr()?);
        Supervisor::builder()
            .workers(workers)
            .listener(listener)
            .build::<(), ()>()?
            .run()
            .await
    })
}

/// Waits on the supervisor link until it says stop (or is gone).
pub(super) async fn until_stopped(link: &mut WorkerLink<(), ()>) {
    loop {
        match link.recv().await {
            Ok(WorkerEvent::Stop(_)) => return,
            Ok(WorkerEvent::Message(())) | Err(IpcError::Decode { .. }) => {}
            Err(_) => return,
        }
    }
}

/// One worker: one loop (the caller's, current-thread runtime) serving weft_http.
fn work() -> io::Result<()> {
    let inherited = cluster::listeners()?.into_iter().next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            "cluster worker: no listening socket inherited",
        )
    })?;
    let runtime = Runtime::builder().current_thread().build()?;
    runtime.block_on(async {
        let listener = weft::net::TcpListener::from_std(inherited)?;
        let mut link = WorkerLink::<(), ()>::connect()?;
        let config = ServerConfig {
            drain_timeout: link.drain_timeout(),
            ..ServerConfig::default()
        };
        let stop = ShutdownSignal::new();
        let serving = weft::spawn_local(weft_http::serve(
            listener,
            super::http_app::handle,
            config,
            stop.clone(),
        ));
        link.ready().await.map_err(io::Error::other)?;
        until_stopped(&mut link).await;
        stop.trigger();
        serving
            .await
            .unwrap_or_else(|join| Err(io::Error::other(format!("worker loop failed: {join}"))))
    })
}

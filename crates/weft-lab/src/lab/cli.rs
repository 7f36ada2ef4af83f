//! The command line of `weft lab`: `list`, `run`, `report`, and the hidden `model` and
//! `helper` commands that the lab starts as child processes of itself.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::catalog::{self, ModelKind, ScenarioKind};
use super::{helper, loadgen, models, report, scenarios};

/// Where `weft lab run` writes its reports when `--out` is not given.
const DEFAULT_OUT_DIR: &str = "weft-lab-report";

/// `weft lab`: one app under every concurrency model, measured side by side.
#[derive(Debug, Args)]
pub(crate) struct LabArgs {
    #[command(subcommand)]
    command: LabCommand,
}

#[derive(Debug, Subcommand)]
enum LabCommand {
    /// The scenarios and models, one line each.
    List,
    /// Runs scenarios (all by default) and writes report.json, report.md and report.html.
    ///
    /// While it runs: on a terminal, a line per scenario and under it a progress bar per
    /// model, each ending with its headline figure or `failed: why`; otherwise (a pipe, a
    /// file, CI) one line per model as it finishes, on stderr. At the end, a table per
    /// scenario on stdout.
    Run(RunArgs),
    /// Renders report.md and report.html again from DIR/report.json.
    Report {
        /// The directory of a run (holding report.json).
        dir: PathBuf,
    },
    /// Runs the lab's load generator against ADDR and prints what it measured (JSON).
    Load(LoadArgs),
    /// Serves the lab's app under one model (started by `weft lab run`).
    #[command(hide = true)]
    Model(ModelArgs),
    /// A measurement in a process of its own (started by `weft lab run`).
    #[command(hide = true)]
    Helper(helper::HelperArgs),
}

/// Options of `weft lab run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Scenarios to run (see `weft lab list`) [default: all].
    scenarios: Vec<String>,
    /// Models to serve, comma separated [default: all].
    #[arg(long, value_delimiter = ',')]
    models: Vec<String>,
    /// Short loads and smaller counts: everything in under 3 minutes on 2 cores.
    #[arg(long)]
    quick: bool,
    /// Directory for report.json, report.md and report.html.
    #[arg(long, default_value = DEFAULT_OUT_DIR)]
    out: PathBuf,
    /// Opens report.html in a browser when the run ends (if one is there).
    #[arg(long)]
    open: bool,
}

/// Longest `weft lab load --duration`: 10 minutes, so that a typo cannot load a server for
/// days.
const MAX_LOAD_SECONDS: f64 = 600.0;

/// Options of `weft lab load`.
#[derive(Debug, Args)]
pub(crate) struct LoadArgs {
    /// The server, e.g. 127.0.0.1:8080.
    addr: std::net::SocketAddr,
    /// Keep-alive connections.
    #[arg(long, short, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    connections: u32,
    /// Seconds to run (at most 600).
    #[arg(long, short, default_value_t = 2.0)]
    duration: f64,
    /// Request target of every request.
    #[arg(long, default_value = "/")]
    path: String,
    /// Requests per second per connection [default: closed loop, the next request as soon
    /// as the answer is in].
    #[arg(long)]
    rate: Option<f64>,
}

/// Options of the hidden `weft lab model NAME`.
#[derive(Debug, Args)]
pub(crate) struct ModelArgs {
    /// The model to serve (see `weft lab list`).
    pub(crate) name: String,
    /// Port on 127.0.0.1 (0 picks a free one; the first stdout line names it).
    #[arg(long, default_value_t = 0)]
    pub(crate) port: u16,
    /// Pins the server (every thread and process of it) to this CPU.
    #[arg(long)]
    pub(crate) cpu: Option<usize>,
}

/// Runs one `weft lab` command.
pub(crate) fn run(args: LabArgs) -> io::Result<ExitCode> {
    match args.command {
        LabCommand::List => {
            print!("{}", catalog::listing());
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Run(args) => run_lab(args),
        LabCommand::Report { dir } => {
            let report = report::Report::load(&dir)?;
            report::write_renderings(&report, &dir)?;
            print!("{}", report::table::render_all(&report));
            println!("re-rendered {}", dir.join("report.html").display());
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Model(args) => {
            let model = ModelKind::parse(&args.name).map_err(invalid)?;
            models::serve(model, &args)?;
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Helper(args) => helper::run(args),
        LabCommand::Load(args) => load(args),
    }
}

fn run_lab(args: RunArgs) -> io::Result<ExitCode> {
    let selected = if args.scenarios.is_empty() {
        ScenarioKind::ALL.to_vec()
    } else {
        args.scenarios
            .iter()
            .map(|s| ScenarioKind::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?
    };
    let models = if args.models.is_empty() {
        ModelKind::ALL.to_vec()
    } else {
        args.models
            .iter()
            .filter(|m| !m.is_empty())
            .map(|m| ModelKind::parse(m))
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?
    };
    std::fs::create_dir_all(&args.out)
        .map_err(|e| io::Error::new(e.kind(), format!("--out {}: {e}", args.out.display())))?;
    let plan = scenarios::Plan {
        scenarios: selected,
        models,
        quick: args.quick,
    };
    let report = scenarios::run(&plan)?;
    report.save(&args.out)?;
    report::write_renderings(&report, &args.out)?;
    print!("{}", report::table::render_all(&report));
    let html = args.out.join("report.html");
    println!(
        "weft lab: {} scenario(s) in {:.1} s; reports in {} (report.json, report.md, report.html)",
        report.scenarios.len(),
        report.elapsed_s,
        args.out.display()
    );
    if args.open {
        open_in_browser(&html);
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens `page` with the desktop's opener if there is one; otherwise says where it is.
fn open_in_browser(page: &std::path::Path) {
    for opener in ["xdg-open", "sensible-browser", "open"] {
        let started = std::process::Command::new(opener)
            .arg(page)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        if started.is_ok() {
            return;
        }
    }
    println!(
        "--open: no browser opener found (xdg-open, sensible-browser); open {} by hand",
        page.display()
    );
}

fn load(args: LoadArgs) -> io::Result<ExitCode> {
    if !(args.duration > 0.0 && args.duration <= MAX_LOAD_SECONDS) {
        return Err(invalid(format!(
            "--duration must be above 0 and at most {MAX_LOAD_SECONDS} s"
        )));
    }
    if args.rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
        return Err(invalid(
            "--rate must be a positive number of requests per second".into(),
        ));
    }
    let duration = std::time::Duration::from_secs_f64(args.duration);
    let _ = super::sys::raise_nofile_limit();
    let r = loadgen::run(loadgen::LoadSpec {
        addr: args.addr,
        connections: args.connections as usize,
        path: args.path,
        duration,
        rate: args.rate,
        request_timeout: duration,
        marker: None,
    })?;
    let quantile = |q: f64| {
        if r.ok > 0 {
            Some(r.latency_ms(q))
        } else {
            None
        }
    };
    let summary = serde_json::json!({
        "ok": r.ok,
        "non_200": r.non_200,
        "failed": r.failed,
        "unanswered_at_end": r.unanswered_at_end,
        "connects": r.connects,
        "connect_errors": r.connect_errors,
        "closed_by_server": r.closed_by_server,
        "unserved_connections": r.unserved(),
        "requests_per_s": r.requests_per_s(),
        "p50_ms": quantile(0.50),
        "p99_ms": quantile(0.99),
        "p999_ms": quantile(0.999),
        "max_ms": if r.ok > 0 { Some(r.latency_us.max() as f64 / 1000.0) } else { None },
        "wall_s": r.wall.as_secs_f64(),
        "load_generator_cpu_percent": r.cpu_percent(),
        "first_error": r.first_error,
    });
    println!("{summary:#}");
    Ok(ExitCode::SUCCESS)
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

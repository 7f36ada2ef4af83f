//! The command line of `weft lab`: `list`, `run`, `report`, and the hidden `model` and
//! `helper` commands that the lab starts as child processes of itself.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::catalog::{self, ModelKind, ScenarioKind};
use super::{helper, models, report, scenarios};

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
    Run(RunArgs),
    /// Renders report.md and report.html again from DIR/report.json.
    Report {
        /// The directory of a run (holding report.json).
        dir: PathBuf,
    },
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
    std::fs::create_dir_all(&args.out).map_err(|e| {
        io::Error::new(e.kind(), format!("--out {}: {e}", args.out.display()))
    })?;
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

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}
